-- rows whose "order_date" appears more than once
select "order_date" as value, count(*) as occurrences
from "analytics"."daily_revenue"
where "order_date" is not null
group by "order_date"
having count(*) > 1
