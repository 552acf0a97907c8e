-- rows whose `customer_id` is null
select *
from `demo-project`.`analytics`.`stg_customers`
where `customer_id` is null
