-- rows whose "ORDER_ID" appears more than once
select "ORDER_ID" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_ORDERS"
where "ORDER_ID" is not null
group by "ORDER_ID"
having count(*) > 1
