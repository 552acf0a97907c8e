-- values of "CHURN_RISK" outside the accepted list
select "CHURN_RISK" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK"
where "CHURN_RISK" is not null
  and "CHURN_RISK" not in ('low', 'medium', 'high')
group by "CHURN_RISK"
