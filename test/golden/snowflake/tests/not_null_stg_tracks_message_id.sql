-- rows whose "MESSAGE_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_TRACKS"
where "MESSAGE_ID" is null
