-- rows whose "RFM_SEGMENT" is null
select *
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "RFM_SEGMENT" is null
