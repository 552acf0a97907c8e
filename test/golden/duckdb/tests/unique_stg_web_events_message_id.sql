-- rows whose "message_id" appears more than once
select "message_id" as value, count(*) as occurrences
from "analytics"."stg_web_events"
where "message_id" is not null
group by "message_id"
having count(*) > 1
