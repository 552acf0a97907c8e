-- rows whose `occurred_at` is null
select *
from `demo-project`.`analytics`.`stg_web_events`
where `occurred_at` is null
