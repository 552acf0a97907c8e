select m.profile_id, cast(null as STRING) as split_group from (
select p.`profile_id`
from `demo-project`.`cdp`.`profiles` p
where coalesce(p.`first_order_at` >= cast(? as TIMESTAMP) and p.`first_order_at` <= cast(? as TIMESTAMP), false)
) m
-- params: ["2010-12-17 00:00:00.000","2010-12-24 00:00:00.000"]
