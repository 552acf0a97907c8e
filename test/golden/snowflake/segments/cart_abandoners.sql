select s."PROFILE_ID", case when s.bucket < cast(? as bigint) then cast(? as varchar) else cast(? as varchar) end as "SPLIT_GROUP"
from (select m."PROFILE_ID", mod(to_number(substr(md5(concat(cast(? as varchar), ':', cast(m."PROFILE_ID" as varchar))), 1, 8), 'XXXXXXXXXXXXXXX'), 10000) as bucket from (
select p."PROFILE_ID"
from "DEMO"."CDP"."PROFILES" p
left join (select e."PROFILE_ID" as "PROFILE_ID", count(*) as n from "DEMO"."CDP"."PROFILE_EVENTS" e where e."EVENT" = cast(? as varchar) and coalesce(e."OCCURRED_AT" >= cast(? as timestamp_ntz) and e."OCCURRED_AT" <= cast(? as timestamp_ntz), false) group by e."PROFILE_ID") e1 on e1."PROFILE_ID" = p."PROFILE_ID"
left join (select e."PROFILE_ID" as "PROFILE_ID", count(*) as n from "DEMO"."CDP"."PROFILE_EVENTS" e where e."EVENT" = cast(? as varchar) and coalesce(e."OCCURRED_AT" >= cast(? as timestamp_ntz) and e."OCCURRED_AT" <= cast(? as timestamp_ntz), false) group by e."PROFILE_ID") e2 on e2."PROFILE_ID" = p."PROFILE_ID"
where ((coalesce(e1.n, 0) >= cast(? as bigint)) and (not (coalesce(e2.n, 0) >= cast(? as bigint))) and (p."EMAIL" is not null and p."EMAIL" <> ''))
) m) s
-- params: [9000,"target","holdout","cart_abandoners","Product Viewed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000","Order Completed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000",2,1]
