select m.profile_id, cast(null as STRING) as split_group from (
select p.`profile_id`
from `demo-project`.`cdp`.`profiles` p
left join (select e.`profile_id` as `profile_id`, count(*) as n from `demo-project`.`cdp`.`profile_events` e where e.`event` = cast(? as STRING) and coalesce(e.`occurred_at` >= cast(? as TIMESTAMP) and e.`occurred_at` <= cast(? as TIMESTAMP), false) group by e.`profile_id`) e1 on e1.`profile_id` = p.`profile_id`
where (coalesce(p.`lifetime_value` >= cast(? as INT64), false) and (coalesce(e1.n, 0) >= cast(? as INT64)))
) m
-- params: ["Order Placed","2010-09-25 00:00:00.000","2010-12-24 00:00:00.000",1000,2]
