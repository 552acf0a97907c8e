-- rows whose `country` is null
select *
from `demo-project`.`analytics`.`stg_customers`
where `country` is null
