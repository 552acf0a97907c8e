-- rows whose "monetary_score" is null
select *
from "analytics"."profile_rfm"
where "monetary_score" is null
