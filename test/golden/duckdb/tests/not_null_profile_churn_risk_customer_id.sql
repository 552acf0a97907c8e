-- rows whose "customer_id" is null
select *
from "analytics"."profile_churn_risk"
where "customer_id" is null
