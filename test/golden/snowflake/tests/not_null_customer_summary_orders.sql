-- rows whose "ORDERS" is null
select *
from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
where "ORDERS" is null
