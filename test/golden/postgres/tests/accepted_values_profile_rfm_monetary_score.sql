-- values of "monetary_score" outside the accepted list
select "monetary_score" as value, count(*) as occurrences
from "analytics"."profile_rfm"
where "monetary_score" is not null
  and "monetary_score" not in (1, 2, 3, 4, 5)
group by "monetary_score"
