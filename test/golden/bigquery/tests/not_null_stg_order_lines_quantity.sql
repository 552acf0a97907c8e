-- rows whose `quantity` is null
select *
from `demo-project`.`analytics`.`stg_order_lines`
where `quantity` is null
