-- rows whose "STOCK_CODE" is null
select *
from "DEMO"."ANALYTICS"."ONLINE_RETAIL"
where "STOCK_CODE" is null
