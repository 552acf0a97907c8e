-- rows whose "ORDER_DATE" appears more than once
select "ORDER_DATE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."DAILY_REVENUE"
where "ORDER_DATE" is not null
group by "ORDER_DATE"
having count(*) > 1
