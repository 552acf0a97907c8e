-- rows whose "OCCURRED_AT" is null
select *
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS"
where "OCCURRED_AT" is null
