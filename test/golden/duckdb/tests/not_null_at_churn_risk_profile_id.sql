-- rows whose "profile_id" is null
select *
from "analytics"."at_churn_risk"
where "profile_id" is null
