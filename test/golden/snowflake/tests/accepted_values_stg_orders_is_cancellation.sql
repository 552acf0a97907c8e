-- values of "IS_CANCELLATION" outside the accepted list
select "IS_CANCELLATION" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_ORDERS"
where "IS_CANCELLATION" is not null
  and "IS_CANCELLATION" not in (true, false)
group by "IS_CANCELLATION"
