-- rows whose "CUSTOMER_ID" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK"
where "CUSTOMER_ID" is null
