with events as (
  select * from "DEMO"."ANALYTICS"."STG_EVENTS"
),

final as (
  select
    message_id,
    user_id,
    anonymous_id,
    name,
    category,
    get_path(properties, 'url')::varchar as url,
    get_path(properties, 'path')::varchar as path,
    get_path(properties, 'referrer')::varchar as referrer,
    get_path(properties, 'title')::varchar as title,
    properties,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'page'
)

select * from final
