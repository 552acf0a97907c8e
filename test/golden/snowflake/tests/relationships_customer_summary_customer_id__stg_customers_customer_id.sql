-- values of "CUSTOMER_ID" with no matching "CUSTOMER_ID" in "DEMO"."ANALYTICS"."STG_CUSTOMERS"
select child."CUSTOMER_ID" as value
from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY" as child
left join "DEMO"."ANALYTICS"."STG_CUSTOMERS" as parent
  on child."CUSTOMER_ID" = parent."CUSTOMER_ID"
where child."CUSTOMER_ID" is not null
  and parent."CUSTOMER_ID" is null
