-- One row per invoice.
with order_lines as (
  select * from `demo-project`.`analytics`.`stg_order_lines`
),

final as (
  select
    order_id,
    min(customer_id) as customer_id,
    min(country) as country,
    min(ordered_at) as ordered_at,
    logical_or(is_cancellation) as is_cancellation,
    count(*) as line_count,
    sum(quantity) as item_count,
    sum(line_revenue) as revenue
  from order_lines
  group by order_id
)

select * from final
