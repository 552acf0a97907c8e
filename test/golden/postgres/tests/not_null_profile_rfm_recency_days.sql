-- rows whose "recency_days" is null
select *
from "analytics"."profile_rfm"
where "recency_days" is null
