select s.`profile_id`, case when s.bucket < cast(? as INT64) then cast(? as STRING) else cast(? as STRING) end as `split_group`
from (select m.`profile_id`, mod(cast(concat('0x', substr(to_hex(md5(concat(cast(? as STRING), ':', cast(m.`profile_id` as STRING)))), 1, 8)) as INT64), 10000) as bucket from (
select p.`profile_id`
from `demo-project`.`cdp`.`profiles` p
left join (select e.`profile_id` as `profile_id`, count(*) as n from `demo-project`.`cdp`.`profile_events` e where e.`event` = cast(? as STRING) and coalesce(e.`occurred_at` >= cast(? as TIMESTAMP) and e.`occurred_at` <= cast(? as TIMESTAMP), false) group by e.`profile_id`) e1 on e1.`profile_id` = p.`profile_id`
left join (select e.`profile_id` as `profile_id`, count(*) as n from `demo-project`.`cdp`.`profile_events` e where e.`event` = cast(? as STRING) and coalesce(e.`occurred_at` >= cast(? as TIMESTAMP) and e.`occurred_at` <= cast(? as TIMESTAMP), false) group by e.`profile_id`) e2 on e2.`profile_id` = p.`profile_id`
where ((coalesce(e1.n, 0) >= cast(? as INT64)) and (not (coalesce(e2.n, 0) >= cast(? as INT64))) and (p.`email` is not null and p.`email` <> ''))
) m) s
-- params: [9000,"target","holdout","cart_abandoners","Product Viewed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000","Order Completed","2010-12-17 00:00:00.000","2010-12-24 00:00:00.000",2,1]
