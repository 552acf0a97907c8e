-- rows whose "MESSAGE_ID" is null
select *
from "DEMO"."ANALYTICS"."STG_PAGES"
where "MESSAGE_ID" is null
