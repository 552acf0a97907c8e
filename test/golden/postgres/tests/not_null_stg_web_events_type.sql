-- rows whose "type" is null
select *
from "analytics"."stg_web_events"
where "type" is null
