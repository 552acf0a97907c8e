-- rows whose "rfm_segment" is null
select *
from "analytics"."profile_rfm"
where "rfm_segment" is null
