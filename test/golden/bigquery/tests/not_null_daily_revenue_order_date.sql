-- rows whose `order_date` is null
select *
from `demo-project`.`analytics`.`daily_revenue`
where `order_date` is null
