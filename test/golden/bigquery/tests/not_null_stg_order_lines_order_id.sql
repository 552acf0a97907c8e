-- rows whose `order_id` is null
select *
from `demo-project`.`analytics`.`stg_order_lines`
where `order_id` is null
