-- values of "type" outside the accepted list
select "type" as value, count(*) as occurrences
from "analytics"."stg_web_events"
where "type" is not null
  and "type" not in ('page', 'track', 'identify')
group by "type"
