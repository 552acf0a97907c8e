-- rows whose `frequency_score` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `frequency_score` is null
