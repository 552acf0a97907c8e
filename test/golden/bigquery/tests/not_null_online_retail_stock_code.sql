-- rows whose `stock_code` is null
select *
from `demo-project`.`analytics`.`online_retail`
where `stock_code` is null
