-- rows whose "message_id" is null
select *
from "analytics"."stg_tracks"
where "message_id" is null
