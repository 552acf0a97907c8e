-- values of "TYPE" outside the accepted list
select "TYPE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "TYPE" is not null
  and "TYPE" not in ('page', 'track', 'identify')
group by "TYPE"
