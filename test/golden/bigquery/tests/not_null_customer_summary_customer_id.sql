-- rows whose `customer_id` is null
select *
from `demo-project`.`analytics`.`customer_summary`
where `customer_id` is null
