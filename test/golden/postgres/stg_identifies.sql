with events as (
  select * from "analytics"."stg_events"
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    ((traits)::jsonb #>> '{"email"}') as email,
    ((traits)::jsonb #>> '{"phone"}') as phone,
    ((traits)::jsonb #>> '{"firstName"}') as first_name,
    ((traits)::jsonb #>> '{"lastName"}') as last_name,
    traits,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'identify'
)

select * from final
