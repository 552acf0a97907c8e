-- values of `customer_id` with no matching `customer_id` in `demo-project`.`analytics`.`stg_customers`
select child.`customer_id` as value
from `demo-project`.`analytics`.`stg_orders` as child
left join `demo-project`.`analytics`.`stg_customers` as parent
  on child.`customer_id` = parent.`customer_id`
where child.`customer_id` is not null
  and parent.`customer_id` is null
