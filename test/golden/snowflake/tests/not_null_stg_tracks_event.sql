-- rows whose "EVENT" is null
select *
from "DEMO"."ANALYTICS"."STG_TRACKS"
where "EVENT" is null
