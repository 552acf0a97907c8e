-- values of "type" outside the accepted list
select "type" as value, count(*) as occurrences
from "analytics"."stg_events"
where "type" is not null
  and "type" not in ('track', 'identify', 'page', 'screen', 'group', 'alias')
group by "type"
