select m.profile_id, cast(null as varchar) as split_group from (
select p."PROFILE_ID"
from "DEMO"."CDP"."PROFILES" p
where coalesce(p."FIRST_ORDER_AT" >= cast(? as timestamp_ntz) and p."FIRST_ORDER_AT" <= cast(? as timestamp_ntz), false)
) m
-- params: ["2010-12-17 00:00:00.000","2010-12-24 00:00:00.000"]
