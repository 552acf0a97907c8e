-- rows whose `invoice_date` is null
select *
from `demo-project`.`analytics`.`online_retail`
where `invoice_date` is null
