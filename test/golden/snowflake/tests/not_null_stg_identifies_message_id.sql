-- rows whose "MESSAGE_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_IDENTIFIES"
where "MESSAGE_ID" is null
