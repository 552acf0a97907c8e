-- rows whose `customer_id` is null
select *
from `demo-project`.`analytics`.`profile_churn_risk`
where `customer_id` is null
