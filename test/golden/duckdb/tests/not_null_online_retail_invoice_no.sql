-- rows whose "invoice_no" is null
select *
from "analytics"."online_retail"
where "invoice_no" is null
