with events as (
  select * from "analytics"."stg_events"
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    json_extract_string(traits, '$.email') as email,
    json_extract_string(traits, '$.phone') as phone,
    json_extract_string(traits, '$.firstName') as first_name,
    json_extract_string(traits, '$.lastName') as last_name,
    traits,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'identify'
)

select * from final
