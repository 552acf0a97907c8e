-- rows whose "invoice_date" is null
select *
from "analytics"."online_retail"
where "invoice_date" is null
