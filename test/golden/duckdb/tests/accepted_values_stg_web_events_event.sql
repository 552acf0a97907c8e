-- values of "event" outside the accepted list
select "event" as value, count(*) as occurrences
from "analytics"."stg_web_events"
where "event" is not null
  and "event" not in ('Product Viewed', 'Signed In', 'Order Completed', 'Order Cancelled')
group by "event"
