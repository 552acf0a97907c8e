-- One row per customer: orders, revenue and first/last order, net of cancellations.
with customers as (
  select * from "analytics"."stg_customers"
),

orders as (
  select * from "analytics"."stg_orders"
),

last_day as (
  select max(ordered_at) as last_ordered_at from orders
),

order_totals as (
  select
    customer_id,
    count(case when not is_cancellation then 1 end) as orders,
    count(case when is_cancellation then 1 end) as cancellations,
    sum(revenue) as revenue,
    min(case when not is_cancellation then ordered_at end) as first_order_at,
    max(case when not is_cancellation then ordered_at end) as last_order_at
  from orders
  where customer_id is not null
  group by customer_id
),

final as (
  select
    customers.customer_id,
    customers.country,
    order_totals.orders,
    order_totals.cancellations,
    order_totals.revenue,
    case when order_totals.orders > 0 then order_totals.revenue / order_totals.orders end as average_order_value,
    order_totals.first_order_at,
    order_totals.last_order_at,
    date_diff('day', order_totals.last_order_at, last_day.last_ordered_at) > 14 as is_lapsed
  from customers
  join order_totals on order_totals.customer_id = customers.customer_id
  cross join last_day
)

select * from final
