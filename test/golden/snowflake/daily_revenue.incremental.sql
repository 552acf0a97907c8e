-- Revenue per day, built incrementally: each run re-reads only the last day it has and the days after.
with orders as (
  select * from "DEMO"."ANALYTICS"."STG_ORDERS"
),

final as (
  select
    cast(ordered_at as date) as order_date,
    count(case when not is_cancellation then 1 end) as orders,
    count(distinct customer_id) as customers,
    sum(revenue) as revenue
  from orders
  where cast(ordered_at as date) >= (select max(order_date) from "DEMO"."ANALYTICS"."DAILY_REVENUE")
  group by cast(ordered_at as date)
)

select * from final
