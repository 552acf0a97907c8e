-- rows whose "PROFILE_ID" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "PROFILE_ID" is null
