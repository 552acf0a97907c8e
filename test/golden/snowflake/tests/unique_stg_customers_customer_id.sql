-- rows whose "CUSTOMER_ID" appears more than once
select "CUSTOMER_ID" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."STG_CUSTOMERS"
where "CUSTOMER_ID" is not null
group by "CUSTOMER_ID"
having count(*) > 1
