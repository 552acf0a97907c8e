-- Revenue per day, built incrementally: each run re-reads only the last day it has and the days after.
with orders as (
  select * from {{ref "stg_orders"}}
),

final as (
  select
    {{to_date "ordered_at"}} as order_date,
    count(case when not is_cancellation then 1 end) as orders,
    count(distinct customer_id) as customers,
    sum(revenue) as revenue
  from orders
  {{#if (is_incremental)}}
  where {{to_date "ordered_at"}} >= (select max(order_date) from {{this}})
  {{/if}}
  group by {{to_date "ordered_at"}}
)

select * from final
