-- rows whose "INVOICE_DATE" is null
select *
from "DEMO"."ANALYTICS"."ONLINE_RETAIL"
where "INVOICE_DATE" is null
