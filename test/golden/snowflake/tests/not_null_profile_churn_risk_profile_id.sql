-- rows whose "PROFILE_ID" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK"
where "PROFILE_ID" is null
