-- rows whose "type" is null
select *
from "analytics"."stg_events"
where "type" is null
