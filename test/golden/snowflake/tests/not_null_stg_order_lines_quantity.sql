-- rows whose "QUANTITY" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDER_LINES"
where "QUANTITY" is null
