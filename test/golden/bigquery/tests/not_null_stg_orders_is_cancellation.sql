-- rows whose `is_cancellation` is null
select *
from `demo-project`.`analytics`.`stg_orders`
where `is_cancellation` is null
