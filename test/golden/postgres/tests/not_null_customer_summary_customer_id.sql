-- rows whose "customer_id" is null
select *
from "analytics"."customer_summary"
where "customer_id" is null
