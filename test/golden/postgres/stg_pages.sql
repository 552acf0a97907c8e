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
    ((properties)::jsonb #>> '{"url"}') as url,
    ((properties)::jsonb #>> '{"path"}') as path,
    ((properties)::jsonb #>> '{"referrer"}') as referrer,
    ((properties)::jsonb #>> '{"title"}') as title,
    properties,
    context,
    occurred_at,
    received_at,
    source_id
  from events
  where type = 'page'
)

select * from final
