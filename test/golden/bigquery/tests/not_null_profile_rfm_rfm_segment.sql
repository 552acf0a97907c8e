-- rows whose `rfm_segment` is null
select *
from `demo-project`.`analytics`.`profile_rfm`
where `rfm_segment` is null
