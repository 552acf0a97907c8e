-- rows whose `message_id` is null
select *
from `demo-project`.`analytics`.`stg_web_events`
where `message_id` is null
