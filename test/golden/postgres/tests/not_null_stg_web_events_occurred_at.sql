-- rows whose "occurred_at" is null
select *
from "analytics"."stg_web_events"
where "occurred_at" is null
