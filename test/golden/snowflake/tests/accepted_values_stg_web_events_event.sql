-- values of "EVENT" outside the accepted list
select "EVENT" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "EVENT" is not null
  and "EVENT" not in ('Product Viewed', 'Signed In', 'Order Completed', 'Order Cancelled')
group by "EVENT"
