select m.profile_id, cast(null as varchar) as split_group from (
select p."PROFILE_ID"
from "DEMO"."CDP"."PROFILES" p
left join (select e."PROFILE_ID" as "PROFILE_ID", count(*) as n from "DEMO"."CDP"."PROFILE_EVENTS" e where e."EVENT" = cast(? as varchar) and coalesce(e."OCCURRED_AT" >= cast(? as timestamp_ntz) and e."OCCURRED_AT" <= cast(? as timestamp_ntz), false) group by e."PROFILE_ID") e1 on e1."PROFILE_ID" = p."PROFILE_ID"
where (coalesce(p."LIFETIME_VALUE" >= cast(? as bigint), false) and (coalesce(e1.n, 0) >= cast(? as bigint)))
) m
-- params: ["Order Placed","2010-09-25 00:00:00.000","2010-12-24 00:00:00.000",1000,2]
