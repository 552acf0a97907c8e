-- rows whose "event" is null
select *
from "analytics"."stg_tracks"
where "event" is null
