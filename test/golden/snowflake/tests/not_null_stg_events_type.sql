-- rows whose "TYPE" is null
select *
from "DEMO"."ANALYTICS"."STG_EVENTS"
where "TYPE" is null
