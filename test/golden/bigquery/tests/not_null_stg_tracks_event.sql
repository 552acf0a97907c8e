-- rows whose `event` is null
select *
from `demo-project`.`analytics`.`stg_tracks`
where `event` is null
