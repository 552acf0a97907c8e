select s."profile_id", case when s.bucket < cast(? as bigint) then cast(? as varchar) else cast(? as varchar) end as "split_group"
from (select m."profile_id", mod(cast(concat('0x', substr(md5(concat(cast(? as varchar), ':', cast(m."profile_id" as varchar))), 1, 8)) as bigint), 10000) as bucket from (
select p."profile_id"
from "cdp"."profiles" p
left join (select e."profile_id" as "profile_id", count(*) as n from "cdp"."profile_events" e where e."event" = cast(? as varchar) and coalesce(e."occurred_at" >= cast(? as timestamp) and e."occurred_at" <= cast(? as timestamp), false) group by e."profile_id") e1 on e1."profile_id" = p."profile_id"
left join (select e."profile_id" as "profile_id", count(*) as n from "cdp"."profile_events" e where e."event" = cast(? as varchar) and coalesce(e."occurred_at" >= cast(? as timestamp) and e."occurred_at" <= cast(? as timestamp), false) group by e."profile_id") e2 on e2."profile_id" = p."profile_id"
where ((coalesce(e1.n, 0) >= cast(? as bigint)) and (not (coalesce(e2.n, 0) >= cast(? as bigint))) and (p."email" is not null and p."email" <> ''))
) m) s
-- params: [9000,"target","holdout","cart_abandoners","Product Viewed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000","Order Completed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000",2,1]
