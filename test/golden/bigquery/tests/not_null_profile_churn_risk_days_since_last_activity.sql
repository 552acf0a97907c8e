-- rows whose `days_since_last_activity` is null
select *
from `demo-project`.`analytics`.`profile_churn_risk`
where `days_since_last_activity` is null
