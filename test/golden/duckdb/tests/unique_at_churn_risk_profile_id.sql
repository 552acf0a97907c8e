-- rows whose "profile_id" appears more than once
select "profile_id" as value, count(*) as occurrences
from "analytics"."at_churn_risk"
where "profile_id" is not null
group by "profile_id"
having count(*) > 1
