-- values of "FREQUENCY_SCORE" outside the accepted list
select "FREQUENCY_SCORE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "FREQUENCY_SCORE" is not null
  and "FREQUENCY_SCORE" not in (1, 2, 3, 4, 5)
group by "FREQUENCY_SCORE"
