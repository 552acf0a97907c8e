-- rows whose "COUNTRY" is null
select *
from "DEMO"."ANALYTICS"."STG_CUSTOMERS"
where "COUNTRY" is null
