-- rows whose "MESSAGE_ID" appears more than once
select "MESSAGE_ID" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "MESSAGE_ID" is not null
group by "MESSAGE_ID"
having count(*) > 1
