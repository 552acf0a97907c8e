with events as (
  select * from `demo-project`.`analytics`.`stg_events`
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    event,
    properties,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'track'
)

select * from final
