-- rows whose "OCCURRED_AT" is null
select *
from "DEMO"."ANALYTICS"."STG_EVENTS"
where "OCCURRED_AT" is null
