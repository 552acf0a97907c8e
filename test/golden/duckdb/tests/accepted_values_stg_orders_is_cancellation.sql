-- values of "is_cancellation" outside the accepted list
select "is_cancellation" as value, count(*) as occurrences
from "analytics"."stg_orders"
where "is_cancellation" is not null
  and "is_cancellation" not in (true, false)
group by "is_cancellation"
