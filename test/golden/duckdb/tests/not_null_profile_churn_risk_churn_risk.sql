-- rows whose "churn_risk" is null
select *
from "analytics"."profile_churn_risk"
where "churn_risk" is null
