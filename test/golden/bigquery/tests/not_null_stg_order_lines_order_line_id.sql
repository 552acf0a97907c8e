-- rows whose `order_line_id` is null
select *
from `demo-project`.`analytics`.`stg_order_lines`
where `order_line_id` is null
