-- values of "MONETARY_SCORE" outside the accepted list
select "MONETARY_SCORE" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "MONETARY_SCORE" is not null
  and "MONETARY_SCORE" not in (1, 2, 3, 4, 5)
group by "MONETARY_SCORE"
