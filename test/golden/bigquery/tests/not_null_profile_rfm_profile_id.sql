-- rows whose `profile_id` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `profile_id` is null
