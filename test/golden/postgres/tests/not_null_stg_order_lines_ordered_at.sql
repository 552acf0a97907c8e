-- rows whose "ordered_at" is null
select *
from "analytics"."stg_order_lines"
where "ordered_at" is null
