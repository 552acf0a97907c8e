-- rows whose "anonymous_id" is null
select *
from "analytics"."stg_web_events"
where "anonymous_id" is null
