-- rows whose "customer_id" is null
select *
from "analytics"."stg_customers"
where "customer_id" is null
