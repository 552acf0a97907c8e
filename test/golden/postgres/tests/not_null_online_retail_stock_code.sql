-- rows whose "stock_code" is null
select *
from "analytics"."online_retail"
where "stock_code" is null
