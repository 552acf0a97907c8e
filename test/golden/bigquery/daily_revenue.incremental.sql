-- Revenue per day, built incrementally: each run re-reads only the last day it has and the days after.
with orders as (
  select * from `demo-project`.`analytics`.`stg_orders`
),

final as (
  select
    date(ordered_at) as order_date,
    count(case when not is_cancellation then 1 end) as orders,
    count(distinct customer_id) as customers,
    sum(revenue) as revenue
  from orders
  where date(ordered_at) >= (select max(order_date) from `demo-project`.`analytics`.`daily_revenue`)
  group by date(ordered_at)
)

select * from final
