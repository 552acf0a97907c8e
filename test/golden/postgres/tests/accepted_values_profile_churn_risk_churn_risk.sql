-- values of "churn_risk" outside the accepted list
select "churn_risk" as value, count(*) as occurrences
from "analytics"."profile_churn_risk"
where "churn_risk" is not null
  and "churn_risk" not in ('low', 'medium', 'high')
group by "churn_risk"
