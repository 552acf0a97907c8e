with events as (
  select * from `demo-project`.`analytics`.`stg_events`
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    json_value(traits, '$.email') as email,
    json_value(traits, '$.phone') as phone,
    json_value(traits, '$.firstName') as first_name,
    json_value(traits, '$.lastName') as last_name,
    traits,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'identify'
)

select * from final
