-- rows whose "order_id" is null
select *
from "analytics"."stg_orders"
where "order_id" is null
