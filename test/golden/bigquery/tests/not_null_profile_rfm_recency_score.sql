-- rows whose `recency_score` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `recency_score` is null
