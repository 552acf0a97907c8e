-- rows whose "order_id" appears more than once
select "order_id" as value, count(*) as occurrences
from "analytics"."stg_orders"
where "order_id" is not null
group by "order_id"
having count(*) > 1
