-- rows whose "MONETARY_SCORE" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "MONETARY_SCORE" is null
