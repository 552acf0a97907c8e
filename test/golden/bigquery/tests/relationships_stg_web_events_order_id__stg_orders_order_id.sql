-- values of `order_id` with no matching `order_id` in `demo-project`.`analytics`.`stg_orders`
select child.`order_id` as value
from `demo-project`.`analytics`.`stg_web_events` as child
left join `demo-project`.`analytics`.`stg_orders` as parent
  on child.`order_id` = parent.`order_id`
where child.`order_id` is not null
  and parent.`order_id` is null
