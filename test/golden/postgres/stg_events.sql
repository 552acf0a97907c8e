-- Every tracked message once. The tracking API stores at least once (a client may retry a request
-- whose answer it never saw); the first copy of each message_id wins.
with source as (
  select * from "cdp"."raw_events"
),

ranked as (
  select
    *,
    row_number() over (partition by message_id order by received_at, source_id) as copy_number
  from source
),

final as (
  select
    message_id,
    type,
    event,
    name,
    category,
    user_id,
    anonymous_id,
    group_id,
    previous_id,
    "timestamp" as occurred_at,
    original_timestamp,
    sent_at,
    received_at,
    source_id,
    context,
    properties,
    traits
  from ranked
  where copy_number = 1
)

select * from final
