-- rows whose "CUSTOMER_ID" is null
select *
from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
where "CUSTOMER_ID" is null
