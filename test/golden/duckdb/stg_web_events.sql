-- The demo shop's website events (generated: seeds/web_events/README.md), one row per message, typed.
-- Ids, names and paths are trimmed; email and phone stay as the visitor typed them ("  Jane@Mail.test",
-- "07700 900123"): identity resolution normalizes them, and this model keeps what it would undo.
with source as (
  select * from "analytics"."web_events"
),

final as (
  select
    trim(message_id) as message_id,
    trim(type) as type,
    trim(event) as event,
    trim(anonymous_id) as anonymous_id,
    trim(user_id) as user_id,
    email,
    phone,
    trim(first_name) as first_name,
    trim(last_name) as last_name,
    trim(product_id) as product_id,
    trim(order_id) as order_id,
    trim(page_path) as page_path,
    cast(occurred_at as timestamp) as occurred_at
  from source
)

select * from final
