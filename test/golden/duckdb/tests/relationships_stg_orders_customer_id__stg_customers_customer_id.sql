-- values of "customer_id" with no matching "customer_id" in "analytics"."stg_customers"
select child."customer_id" as value
from "analytics"."stg_orders" as child
left join "analytics"."stg_customers" as parent
  on child."customer_id" = parent."customer_id"
where child."customer_id" is not null
  and parent."customer_id" is null
