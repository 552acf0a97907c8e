-- rows whose "ORDER_LINE_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDER_LINES"
where "ORDER_LINE_ID" is null
