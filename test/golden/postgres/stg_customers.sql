-- One row per known customer (guest checkouts have no customer id), with the country of their latest order.
with orders as (
  select * from "analytics"."stg_orders"
),

ranked as (
  select
    customer_id,
    country,
    ordered_at,
    row_number() over (partition by customer_id order by ordered_at desc, order_id desc) as recency_rank
  from orders
  where customer_id is not null
),

final as (
  select
    customer_id,
    country
  from ranked
  where recency_rank = 1
)

select * from final
