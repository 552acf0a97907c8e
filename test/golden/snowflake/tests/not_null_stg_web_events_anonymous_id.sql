-- rows whose "ANONYMOUS_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "ANONYMOUS_ID" is null
