-- rows whose "INVOICE_NO" is null
select *
from "DEMO"."ANALYTICS"."ONLINE_RETAIL"
where "INVOICE_NO" is null
