-- rows whose "FREQUENCY_SCORE" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "FREQUENCY_SCORE" is null
