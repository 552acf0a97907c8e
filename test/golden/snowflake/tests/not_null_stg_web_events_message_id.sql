-- rows whose "MESSAGE_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "MESSAGE_ID" is null
