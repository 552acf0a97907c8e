-- rows whose "PROFILE_ID" appears more than once
select "PROFILE_ID" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."AT_CHURN_RISK"
where "PROFILE_ID" is not null
group by "PROFILE_ID"
having count(*) > 1
