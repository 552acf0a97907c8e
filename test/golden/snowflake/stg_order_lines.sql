-- One row per invoice line, typed. Invoices starting with C are cancellations (negative quantities).
with source as (
  select * from "DEMO"."ANALYTICS"."ONLINE_RETAIL"
),

final as (
  select
    md5(concat(coalesce(cast(_file as varchar), '_null_'), '-', coalesce(cast(_line as varchar), '_null_'))) as order_line_id,
    invoice_no as order_id,
    stock_code,
    description,
    cast(quantity as integer) as quantity,
    cast(unit_price as number(18,4)) as unit_price,
    cast(quantity as integer) * cast(unit_price as number(18,4)) as line_revenue,
    cast(invoice_date as timestamp_ntz) as ordered_at,
    -- CustomerID arrives as a float ("17850.0"); empty for guest checkouts
    cast(cast(customer_id as number(18,4)) as integer) as customer_id,
    country,
    invoice_no like 'C%' as is_cancellation
  from source
)

select * from final
