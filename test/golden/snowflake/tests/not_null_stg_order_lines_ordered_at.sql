-- rows whose "ORDERED_AT" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDER_LINES"
where "ORDERED_AT" is null
