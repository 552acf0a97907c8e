-- rows whose `monetary_score` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `monetary_score` is null
