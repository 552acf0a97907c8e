-- rows whose `invoice_no` is null
select *
from `demo-project`.`analytics`.`online_retail`
where `invoice_no` is null
