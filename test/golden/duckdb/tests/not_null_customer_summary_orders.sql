-- rows whose "orders" is null
select *
from "analytics"."customer_summary"
where "orders" is null
