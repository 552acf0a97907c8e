-- rows whose `type` is null
select *
from `demo-project`.`analytics`.`stg_events`
where `type` is null
