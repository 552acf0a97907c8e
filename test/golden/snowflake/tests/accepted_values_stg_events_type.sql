-- values of "TYPE" outside the accepted list
select "TYPE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_EVENTS"
where "TYPE" is not null
  and "TYPE" not in ('track', 'identify', 'page', 'screen', 'group', 'alias')
group by "TYPE"
