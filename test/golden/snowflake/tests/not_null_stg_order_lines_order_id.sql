-- rows whose "ORDER_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDER_LINES"
where "ORDER_ID" is null
