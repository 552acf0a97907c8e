-- rows whose "RECENCY_SCORE" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "RECENCY_SCORE" is null
