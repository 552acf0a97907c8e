-- rows whose "customer_id" appears more than once
select "customer_id" as value, count(*) as occurrences
from "analytics"."stg_customers"
where "customer_id" is not null
group by "customer_id"
having count(*) > 1
