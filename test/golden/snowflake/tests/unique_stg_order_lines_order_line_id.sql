-- rows whose "ORDER_LINE_ID" appears more than once
select "ORDER_LINE_ID" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_ORDER_LINES"
where "ORDER_LINE_ID" is not null
group by "ORDER_LINE_ID"
having count(*) > 1
