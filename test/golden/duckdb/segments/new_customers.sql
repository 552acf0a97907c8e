select m.profile_id, cast(null as varchar) as split_group from (
select p."profile_id"
from "cdp"."profiles" p
where coalesce(p."first_order_at" >= cast(? as timestamp) and p."first_order_at" <= cast(? as timestamp), false)
) m
-- params: ["2010-12-17 00:00:00.000","2010-12-24 00:00:00.000"]
