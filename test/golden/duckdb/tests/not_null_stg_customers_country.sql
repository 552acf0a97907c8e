-- rows whose "country" is null
select *
from "analytics"."stg_customers"
where "country" is null
