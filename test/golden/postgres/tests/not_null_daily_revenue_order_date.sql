-- rows whose "order_date" is null
select *
from "analytics"."daily_revenue"
where "order_date" is null
