-- rows whose "order_id" is null
select *
from "analytics"."stg_order_lines"
where "order_id" is null
