-- values of "recency_score" outside the accepted list
select "recency_score" as value, count(*) as occurrences
from "analytics"."profile_rfm"
where "recency_score" is not null
  and "recency_score" not in (1, 2, 3, 4, 5)
group by "recency_score"
