-- rows whose "quantity" is null
select *
from "analytics"."stg_order_lines"
where "quantity" is null
