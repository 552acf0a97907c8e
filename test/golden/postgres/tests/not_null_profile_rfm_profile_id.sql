-- rows whose "profile_id" is null
select *
from "analytics"."profile_rfm"
where "profile_id" is null
