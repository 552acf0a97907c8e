-- rows whose "is_cancellation" is null
select *
from "analytics"."stg_orders"
where "is_cancellation" is null
