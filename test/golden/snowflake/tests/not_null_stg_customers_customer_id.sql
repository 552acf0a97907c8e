-- rows whose "CUSTOMER_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_CUSTOMERS"
where "CUSTOMER_ID" is null
