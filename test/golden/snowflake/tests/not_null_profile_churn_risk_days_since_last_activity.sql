-- rows whose "DAYS_SINCE_LAST_ACTIVITY" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK"
where "DAYS_SINCE_LAST_ACTIVITY" is null
