-- rows whose "frequency_score" is null
select *
from "analytics"."profile_rfm"
where "frequency_score" is null
