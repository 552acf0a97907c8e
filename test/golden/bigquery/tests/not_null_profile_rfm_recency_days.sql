-- rows whose `recency_days` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `recency_days` is null
