-- rows whose "ORDER_DATE" is null
select *
from "DEMO"."ANALYTICS"."DAILY_REVENUE"
where "ORDER_DATE" is null
