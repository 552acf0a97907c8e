-- values of "RECENCY_SCORE" outside the accepted list
select "RECENCY_SCORE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "RECENCY_SCORE" is not null
  and "RECENCY_SCORE" not in (1, 2, 3, 4, 5)
group by "RECENCY_SCORE"
