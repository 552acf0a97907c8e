-- rows whose "CHURN_RISK" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK"
where "CHURN_RISK" is null
