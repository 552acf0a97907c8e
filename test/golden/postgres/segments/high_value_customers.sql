select m.profile_id, cast(null as text) as split_group from (
select p."profile_id"
from "cdp"."profiles" p
left join (select e."profile_id" as "profile_id", count(*) as n from "cdp"."profile_events" e where e."event" = cast(? as text) and coalesce(e."occurred_at" >= cast(? as timestamp) and e."occurred_at" <= cast(? as timestamp), false) group by e."profile_id") e1 on e1."profile_id" = p."profile_id"
where (coalesce(p."lifetime_value" >= cast(? as bigint), false) and (coalesce(e1.n, 0) >= cast(? as bigint)))
) m
-- params: ["Order Placed","2010-09-25 00:00:00.000","2010-12-24 00:00:00.000",1000,2]
