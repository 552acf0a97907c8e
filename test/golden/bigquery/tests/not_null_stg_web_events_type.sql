-- rows whose `type` is null
select *
from `demo-project`.`analytics`.`stg_web_events`
where `type` is null
