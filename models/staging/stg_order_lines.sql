-- One row per invoice line, typed. Invoices starting with C are cancellations (negative quantities).
with source as (
  select * from {{ref "online_retail"}}
),

final as (
  select
    {{surrogate_key "_file" "_line"}} as order_line_id,
    invoice_no as order_id,
    stock_code,
    description,
    {{cast "quantity" "integer"}} as quantity,
    {{cast "unit_price" "numeric"}} as unit_price,
    {{cast "quantity" "integer"}} * {{cast "unit_price" "numeric"}} as line_revenue,
    {{cast "invoice_date" "timestamp"}} as ordered_at,
    -- CustomerID arrives as a float ("17850.0"); empty for guest checkouts
    {{cast (cast "customer_id" "numeric") "integer"}} as customer_id,
    country,
    invoice_no like 'C%' as is_cancellation
  from source
)

select * from final
