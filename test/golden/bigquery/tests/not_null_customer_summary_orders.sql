-- rows whose `orders` is null
select *
from `demo-project`.`analytics`.`customer_summary`
where `orders` is null
