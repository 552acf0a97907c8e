-- rows whose "TYPE" is null
select *
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "TYPE" is null
