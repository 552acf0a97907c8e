-- rows whose "order_line_id" is null
select *
from "analytics"."stg_order_lines"
where "order_line_id" is null
