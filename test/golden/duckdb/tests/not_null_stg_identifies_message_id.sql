-- rows whose "message_id" is null
select *
from "analytics"."stg_identifies"
where "message_id" is null
