with events as (
  select * from "analytics"."stg_events"
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    name,
    category,
    json_extract_string(properties, '$.url') as url,
    json_extract_string(properties, '$.path') as path,
    json_extract_string(properties, '$.referrer') as referrer,
    json_extract_string(properties, '$.title') as title,
    properties,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'page'
)

select * from final
