-- rows whose "message_id" is null
select *
from "analytics"."stg_web_events"
where "message_id" is null
