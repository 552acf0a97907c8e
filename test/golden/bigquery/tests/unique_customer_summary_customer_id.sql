-- rows whose `customer_id` appears more than once
select `customer_id` as value, count(*) as occurrences
from `demo-project`.`analytics`.`customer_summary`
where `customer_id` is not null
group by `customer_id`
having count(*) > 1
