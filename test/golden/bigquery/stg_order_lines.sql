-- One row per invoice line, typed. Invoices starting with C are cancellations (negative quantities).
with source as (
  select * from `demo-project`.`analytics`.`online_retail`
),

final as (
  select
    to_hex(md5(concat(coalesce(cast(_file as STRING), '_null_'), '-', coalesce(cast(_line as STRING), '_null_')))) as order_line_id,
    invoice_no as order_id,
    stock_code,
    description,
    cast(quantity as INT64) as quantity,
    cast(unit_price as NUMERIC) as unit_price,
    cast(quantity as INT64) * cast(unit_price as NUMERIC) as line_revenue,
    cast(invoice_date as TIMESTAMP) as ordered_at,
    -- CustomerID arrives as a float ("17850.0"); empty for guest checkouts
    cast(cast(customer_id as NUMERIC) as INT64) as customer_id,
    country,
    invoice_no like 'C%' as is_cancellation
  from source
)

select * from final
