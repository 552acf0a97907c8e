-- values of "frequency_score" outside the accepted list
select "frequency_score" as value, count(*) as occurrences
from "analytics"."profile_rfm"
where "frequency_score" is not null
  and "frequency_score" not in (1, 2, 3, 4, 5)
group by "frequency_score"
