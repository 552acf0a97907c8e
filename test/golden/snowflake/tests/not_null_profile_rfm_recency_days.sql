-- rows whose "RECENCY_DAYS" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "RECENCY_DAYS" is null
