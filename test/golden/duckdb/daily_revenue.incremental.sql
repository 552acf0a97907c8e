-- Revenue per day, built incrementally: each run re-reads only the last day it has and the days after.
with orders as (
  select * from "analytics"."stg_orders"
),

final as (
  select
    cast(ordered_at as date) as order_date,
    count(case when not is_cancellation then 1 end) as orders,
    count(distinct customer_id) as customers,
    sum(revenue) as revenue
  from orders
  where cast(ordered_at as date) >= (select max(order_date) from "analytics"."daily_revenue")
  group by cast(ordered_at as date)
)

select * from final
