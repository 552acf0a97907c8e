-- values of "ORDER_ID" with no matching "ORDER_ID" in "DEMO"."ANALYTICS"."STG_ORDERS"
select child."ORDER_ID" as value
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" as child
left join "DEMO"."ANALYTICS"."STG_ORDERS" as parent
  on child."ORDER_ID" = parent."ORDER_ID"
where child."ORDER_ID" is not null
  and parent."ORDER_ID" is null
