-- rows whose `anonymous_id` is null
select *
from `demo-project`.`analytics`.`stg_web_events`
where `anonymous_id` is null
