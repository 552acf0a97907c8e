-- rows whose "ORDER_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDERS"
where "ORDER_ID" is null
