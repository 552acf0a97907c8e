with events as (
  select * from "DEMO"."ANALYTICS"."STG_EVENTS"
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    get_path(traits, 'email')::varchar as email,
    get_path(traits, 'phone')::varchar as phone,
    get_path(traits, 'firstName')::varchar as first_name,
    get_path(traits, 'lastName')::varchar as last_name,
    traits,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'identify'
)

select * from final
