with events as (
  select * from `demo-project`.`analytics`.`stg_events`
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    name,
    category,
    json_value(properties, '$.url') as url,
    json_value(properties, '$.path') as path,
    json_value(properties, '$.referrer') as referrer,
    json_value(properties, '$.title') as title,
    properties,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'page'
)

select * from final
