-- rows whose `order_id` is null
select *
from `demo-project`.`analytics`.`stg_orders`
where `order_id` is null
