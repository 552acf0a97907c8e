-- rows whose "PROFILE_ID" is null
select *
from "DEMO"."ANALYTICS"."AT_CHURN_RISK"
where "PROFILE_ID" is null
