-- rows whose "IS_CANCELLATION" is null
select *
from "DEMO"."ANALYTICS"."STG_ORDERS"
where "IS_CANCELLATION" is null
