-- rows whose "recency_score" is null
select *
from "analytics"."profile_rfm"
where "recency_score" is null
