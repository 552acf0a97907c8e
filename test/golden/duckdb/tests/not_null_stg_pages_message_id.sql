-- rows whose "message_id" is null
select *
from "analytics"."stg_pages"
where "message_id" is null
