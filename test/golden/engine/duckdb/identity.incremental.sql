create schema if not exists "cdp";

create table if not exists "cdp"."identity_edges" ("a" varchar, "b" varchar, "first_seen" timestamp, "last_seen" timestamp, "source" varchar);

create table if not exists "cdp"."identity_graph" ("profile_id" varchar, "id_type" varchar, "id_value" varchar, "source" varchar, "first_seen" timestamp, "last_seen" timestamp, "component" bigint);

create table if not exists "cdp"."profile_merges" ("run_id" varchar, "merged_at" timestamp, "profile_id" varchar, "merged_profile_id" varchar, "kind" varchar, "link_a_type" varchar, "link_a_value" varchar, "link_b_type" varchar, "link_b_value" varchar);

create table if not exists "cdp"."identity_blocked_edges" ("run_id" varchar, "component" bigint, "a_type" varchar, "a_value" varchar, "b_type" varchar, "b_value" varchar, "limit_type" varchar, "limit_value" integer, "first_seen" timestamp);

create table if not exists "cdp"."identity_phone_numbers" ("raw" varchar, "country" varchar, "value" varchar);

create table if not exists "cdp"."identity_touched" ("profile_id" varchar, "run_id" varchar);

create table if not exists "cdp"."identity_runs" ("run_id" varchar, "started_at" timestamp, "finished_at" timestamp, "mode" varchar, "config_hash" varchar, "events_watermark" timestamp, "links" bigint, "new_links" bigint, "recomputed" bigint, "identifiers" bigint, "profiles" bigint, "merges" bigint, "blocked" bigint, "rounds" integer);

select config_hash, events_watermark from "cdp"."identity_runs" order by started_at desc limit 1;

select max(received_at) from "cdp"."raw_events" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp);

select distinct v.raw from (select trim(json_extract_string(r."traits", '$.phone')) as raw from "cdp"."raw_events" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp)) v
where v.raw is not null and not exists (select 1 from "cdp"."identity_phone_numbers" p where p.raw = v.raw and p.country = 'GB');

-- append into "cdp"."identity_phone_numbers" (raw, country, value): [["07700 900123","GB","+447700900123"],["(+44) 7700-900-123","GB","+447700900123"]];

create table "cdp_scratch"."main"."_identity_<token>_records0" as
select x.*, least(coalesce(x."k0", 9223372036854775807), coalesce(x."k1", 9223372036854775807), coalesce(x."k2", 9223372036854775807), coalesce(x."k3", 9223372036854775807), coalesce(x."k4", 9223372036854775807)) as rec_min
from (
  select x.ts, x.rcv, x."n0", case when x."n0" is not null then (0 + cast(hash(x."n0") >> 8 as bigint)) end as "k0",
    x."n1", case when x."n1" is not null then (72057594037927936 + cast(hash(x."n1") >> 8 as bigint)) end as "k1",
    x."n2", case when x."n2" is not null then (72057594037927936 + cast(hash(x."n2") >> 8 as bigint)) end as "k2",
    x."n3", case when x."n3" is not null then (144115188075855872 + cast(hash(x."n3") >> 8 as bigint)) end as "k3",
    x."n4", case when x."n4" is not null then (216172782113783808 + cast(hash(x."n4") >> 8 as bigint)) end as "k4"
  from (
    select m.ts, m.rcv, case when m."m0" is null or (lower(m."m0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m0", '^0+$', 'i') or regexp_matches(m."m0", '@example\.(com|org|net)$', 'i')) or (lower(m."r0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r0", '^0+$', 'i') or regexp_matches(m."r0", '@example\.(com|org|net)$', 'i')) then null else concat('user_id:', m."m0") end as "n0",
      case when m."m1" is null or (lower(m."m1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m1", '^0+$', 'i') or regexp_matches(m."m1", '@example\.(com|org|net)$', 'i')) or (lower(m."r1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r1", '^0+$', 'i') or regexp_matches(m."r1", '@example\.(com|org|net)$', 'i')) then null else concat('email:', m."m1") end as "n1",
      case when m."m2" is null or (lower(m."m2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m2", '^0+$', 'i') or regexp_matches(m."m2", '@example\.(com|org|net)$', 'i')) or (lower(m."r2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r2", '^0+$', 'i') or regexp_matches(m."r2", '@example\.(com|org|net)$', 'i')) then null else concat('email:', m."m2") end as "n2",
      case when m."m3" is null or (lower(m."m3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m3", '^0+$', 'i') or regexp_matches(m."m3", '@example\.(com|org|net)$', 'i')) or (lower(m."r3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r3", '^0+$', 'i') or regexp_matches(m."r3", '@example\.(com|org|net)$', 'i')) then null else concat('phone:', m."m3") end as "n3",
      case when m."m4" is null or (lower(m."m4") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m4", '^0+$', 'i') or regexp_matches(m."m4", '@example\.(com|org|net)$', 'i')) or (lower(m."r4") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r4", '^0+$', 'i') or regexp_matches(m."r4", '@example\.(com|org|net)$', 'i')) then null else concat('anonymous_id:', m."m4") end as "n4"
    from (
      select s.*, nullif(s."r0", '') as "m0", case when lower(s."r1") like '_%@_%.%' and lower(s."r1") not like '%@%@%' and lower(s."r1") not like '%.' and lower(s."r1") not like '% %' then lower(s."r1") end as "m1", case when lower(s."r2") like '_%@_%.%' and lower(s."r2") not like '%@%@%' and lower(s."r2") not like '%.' and lower(s."r2") not like '% %' then lower(s."r2") end as "m2", p3.value as "m3", nullif(s."r4", '') as "m4"
      from (select cast(r."timestamp" as timestamp) as ts, r.received_at as rcv, trim(cast(r."user_id" as varchar)) as "r0", trim(json_extract_string(r."traits", '$.email')) as "r1", trim(json_extract_string(r."context", '$.traits.email')) as "r2", trim(json_extract_string(r."traits", '$.phone')) as "r3", trim(cast(r."anonymous_id" as varchar)) as "r4" from "cdp"."raw_events" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp)) s
      left join "cdp"."identity_phone_numbers" p3 on p3.raw = s."r3" and p3.country = 'GB'
    ) m
  ) x
) x;

select distinct v.raw from (select trim(cast(r."phone" as varchar)) as raw from "analytics"."stg_web_events" r) v
where v.raw is not null and not exists (select 1 from "cdp"."identity_phone_numbers" p where p.raw = v.raw and p.country = 'GB');

-- append into "cdp"."identity_phone_numbers" (raw, country, value): [["07700 900123","GB","+447700900123"],["(+44) 7700-900-123","GB","+447700900123"]];

create table "cdp_scratch"."main"."_identity_<token>_records1" as
select x.*, least(coalesce(x."k0", 9223372036854775807), coalesce(x."k1", 9223372036854775807), coalesce(x."k2", 9223372036854775807), coalesce(x."k3", 9223372036854775807)) as rec_min
from (
  select x.ts, x."n0", case when x."n0" is not null then (0 + cast(hash(x."n0") >> 8 as bigint)) end as "k0",
    x."n1", case when x."n1" is not null then (72057594037927936 + cast(hash(x."n1") >> 8 as bigint)) end as "k1",
    x."n2", case when x."n2" is not null then (144115188075855872 + cast(hash(x."n2") >> 8 as bigint)) end as "k2",
    x."n3", case when x."n3" is not null then (216172782113783808 + cast(hash(x."n3") >> 8 as bigint)) end as "k3"
  from (
    select m.ts, case when m."m0" is null or (lower(m."m0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m0", '^0+$', 'i') or regexp_matches(m."m0", '@example\.(com|org|net)$', 'i')) or (lower(m."r0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r0", '^0+$', 'i') or regexp_matches(m."r0", '@example\.(com|org|net)$', 'i')) then null else concat('user_id:', m."m0") end as "n0",
      case when m."m1" is null or (lower(m."m1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m1", '^0+$', 'i') or regexp_matches(m."m1", '@example\.(com|org|net)$', 'i')) or (lower(m."r1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r1", '^0+$', 'i') or regexp_matches(m."r1", '@example\.(com|org|net)$', 'i')) then null else concat('email:', m."m1") end as "n1",
      case when m."m2" is null or (lower(m."m2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m2", '^0+$', 'i') or regexp_matches(m."m2", '@example\.(com|org|net)$', 'i')) or (lower(m."r2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r2", '^0+$', 'i') or regexp_matches(m."r2", '@example\.(com|org|net)$', 'i')) then null else concat('phone:', m."m2") end as "n2",
      case when m."m3" is null or (lower(m."m3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m3", '^0+$', 'i') or regexp_matches(m."m3", '@example\.(com|org|net)$', 'i')) or (lower(m."r3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r3", '^0+$', 'i') or regexp_matches(m."r3", '@example\.(com|org|net)$', 'i')) then null else concat('anonymous_id:', m."m3") end as "n3"
    from (
      select s.*, nullif(s."r0", '') as "m0", case when lower(s."r1") like '_%@_%.%' and lower(s."r1") not like '%@%@%' and lower(s."r1") not like '%.' and lower(s."r1") not like '% %' then lower(s."r1") end as "m1", p2.value as "m2", nullif(s."r3", '') as "m3"
      from (select cast(r."occurred_at" as timestamp) as ts, trim(cast(r."user_id" as varchar)) as "r0", trim(cast(r."email" as varchar)) as "r1", trim(cast(r."phone" as varchar)) as "r2", trim(cast(r."anonymous_id" as varchar)) as "r3" from "analytics"."stg_web_events" r) s
      left join "cdp"."identity_phone_numbers" p2 on p2.raw = s."r2" and p2.country = 'GB'
    ) m
  ) x
) x;

create table "cdp_scratch"."main"."_identity_<token>_records2" as
select x.*, least(coalesce(x."k0", 9223372036854775807)) as rec_min
from (
  select x.ts, x."n0", case when x."n0" is not null then (0 + cast(hash(x."n0") >> 8 as bigint)) end as "k0"
  from (
    select m.ts, case when m."m0" is null or (lower(m."m0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m0", '^0+$', 'i') or regexp_matches(m."m0", '@example\.(com|org|net)$', 'i')) or (lower(m."r0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r0", '^0+$', 'i') or regexp_matches(m."r0", '@example\.(com|org|net)$', 'i')) then null else concat('user_id:', m."m0") end as "n0"
    from (
      select s.*, nullif(s."r0", '') as "m0"
      from (select cast(r."ordered_at" as timestamp) as ts, trim(cast(r."customer_id" as varchar)) as "r0" from "analytics"."stg_orders" r) s
      
    ) m
  ) x
) x;

create table "cdp_scratch"."main"."_identity_<token>_records3" as
select x.*, least(coalesce(x."k0", 9223372036854775807)) as rec_min
from (
  select x.ts, x."n0", case when x."n0" is not null then (0 + cast(hash(x."n0") >> 8 as bigint)) end as "k0"
  from (
    select m.ts, case when m."m0" is null or (lower(m."m0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."m0", '^0+$', 'i') or regexp_matches(m."m0", '@example\.(com|org|net)$', 'i')) or (lower(m."r0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(m."r0", '^0+$', 'i') or regexp_matches(m."r0", '@example\.(com|org|net)$', 'i')) then null else concat('user_id:', m."m0") end as "n0"
    from (
      select s.*, nullif(s."r0", '') as "m0"
      from (select cast(null as timestamp) as ts, trim(cast(r."customer_id" as varchar)) as "r0" from "analytics"."stg_customers" r) s
      
    ) m
  ) x
) x;

create table "cdp_scratch"."main"."_identity_<token>_links" as
select a, b, case when ka < 72057594037927936 then 'user_id' when ka < 144115188075855872 then 'email' when ka < 216172782113783808 then 'phone' else 'anonymous_id' end as a_type, case when kb < 72057594037927936 then 'user_id' when kb < 144115188075855872 then 'email' when kb < 216172782113783808 then 'phone' else 'anonymous_id' end as b_type, first_seen, last_seen, source as source, ka, kb
from (
  select a, b, min(ka) as ka, min(kb) as kb, min(ts) as first_seen, max(ts) as last_seen, arg_min(source, row(coalesce(ts, cast('9999-12-31 00:00:00.000' as timestamp)), source)) as source
  from (
    select
      case when centre <= node then centre else node end as a,
      case when centre <= node then node else centre end as b,
      case when centre <= node then centre_key else node_key end as ka,
      case when centre <= node then node_key else centre_key end as kb,
      ts, source
    from (
select coalesce(x."n0", x."n1", x."n2", x."n3", x."n4") as centre, coalesce(x."k0", x."k1", x."k2", x."k3", x."k4") as centre_key, x."n0" as node, x."k0" as node_key, x.rec_min, x.ts, 'events' as source
from "cdp_scratch"."main"."_identity_<token>_records0" x where x."n0" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3", x."n4") as centre, coalesce(x."k0", x."k1", x."k2", x."k3", x."k4") as centre_key, x."n1" as node, x."k1" as node_key, x.rec_min, x.ts, 'events' as source
from "cdp_scratch"."main"."_identity_<token>_records0" x where x."n1" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3", x."n4") as centre, coalesce(x."k0", x."k1", x."k2", x."k3", x."k4") as centre_key, x."n2" as node, x."k2" as node_key, x.rec_min, x.ts, 'events' as source
from "cdp_scratch"."main"."_identity_<token>_records0" x where x."n2" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3", x."n4") as centre, coalesce(x."k0", x."k1", x."k2", x."k3", x."k4") as centre_key, x."n3" as node, x."k3" as node_key, x.rec_min, x.ts, 'events' as source
from "cdp_scratch"."main"."_identity_<token>_records0" x where x."n3" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3", x."n4") as centre, coalesce(x."k0", x."k1", x."k2", x."k3", x."k4") as centre_key, x."n4" as node, x."k4" as node_key, x.rec_min, x.ts, 'events' as source
from "cdp_scratch"."main"."_identity_<token>_records0" x where x."n4" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3") as centre, coalesce(x."k0", x."k1", x."k2", x."k3") as centre_key, x."n0" as node, x."k0" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "cdp_scratch"."main"."_identity_<token>_records1" x where x."n0" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3") as centre, coalesce(x."k0", x."k1", x."k2", x."k3") as centre_key, x."n1" as node, x."k1" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "cdp_scratch"."main"."_identity_<token>_records1" x where x."n1" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3") as centre, coalesce(x."k0", x."k1", x."k2", x."k3") as centre_key, x."n2" as node, x."k2" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "cdp_scratch"."main"."_identity_<token>_records1" x where x."n2" is not null
union all
select coalesce(x."n0", x."n1", x."n2", x."n3") as centre, coalesce(x."k0", x."k1", x."k2", x."k3") as centre_key, x."n3" as node, x."k3" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "cdp_scratch"."main"."_identity_<token>_records1" x where x."n3" is not null
union all
select coalesce(x."n0") as centre, coalesce(x."k0") as centre_key, x."n0" as node, x."k0" as node_key, x.rec_min, x.ts, 'stg_orders' as source
from "cdp_scratch"."main"."_identity_<token>_records2" x where x."n0" is not null
union all
select coalesce(x."n0") as centre, coalesce(x."k0") as centre_key, x."n0" as node, x."k0" as node_key, x.rec_min, x.ts, 'stg_customers' as source
from "cdp_scratch"."main"."_identity_<token>_records3" x where x."n0" is not null
    ) r
  ) l
  group by a, b
) l;

select count(*) from "cdp_scratch"."main"."_identity_<token>_links";

create table "cdp_scratch"."main"."_identity_<token>_changed" as
select n.*, case when o."a" is null or n."first_seen" < o."first_seen" or (o."first_seen" is null and n."first_seen" is not null) then 1 else 0 end as grows
from "cdp_scratch"."main"."_identity_<token>_links" n left join "cdp"."identity_edges" o on o."a" = n."a" and o."b" = n."b"
where o."a" is null or n."first_seen" < o."first_seen" or (o."first_seen" is null and n."first_seen" is not null) or n."last_seen" > o."last_seen" or (o."last_seen" is null and n."last_seen" is not null)
  or (coalesce(n."first_seen", cast('9999-12-31 00:00:00.000' as timestamp)) = coalesce(o."first_seen", cast('9999-12-31 00:00:00.000' as timestamp)) and n."source" < o."source");

create table "cdp_scratch"."main"."_identity_<token>_delta" as
select a, b, first_seen, last_seen, source from "cdp_scratch"."main"."_identity_<token>_changed" where grows = 1;

select count(*) from "cdp_scratch"."main"."_identity_<token>_delta";

create table "cdp_scratch"."main"."_identity_<token>_touched" as
select a as node from "cdp_scratch"."main"."_identity_<token>_delta" union select b from "cdp_scratch"."main"."_identity_<token>_delta";

create table "cdp_scratch"."main"."_identity_<token>_oldcomp" as
select distinct g.component from "cdp"."identity_graph" g join (select distinct substr(n.node, 1, strpos(n.node, ':') - 1) as id_type, substr(n.node, strpos(n.node, ':') + 1) as id_value from (
select node from "cdp_scratch"."main"."_identity_<token>_touched"
) n) t on t.id_type = g.id_type and t.id_value = g.id_value;

create table "cdp_scratch"."main"."_identity_<token>_affected" as
select concat(g.id_type, ':', g.id_value) as node from "cdp"."identity_graph" g join "cdp_scratch"."main"."_identity_<token>_oldcomp" c on c.component = g.component
union select node from "cdp_scratch"."main"."_identity_<token>_touched";

create table "cdp_scratch"."main"."_identity_<token>_subedges" as
select l.*, (case l.a_type when 'user_id' then 0 when 'email' then 72057594037927936 when 'phone' then 144115188075855872 when 'anonymous_id' then 216172782113783808 end + cast(hash(l.a) >> 8 as bigint)) as ka, (case l.b_type when 'user_id' then 0 when 'email' then 72057594037927936 when 'phone' then 144115188075855872 when 'anonymous_id' then 216172782113783808 end + cast(hash(l.b) >> 8 as bigint)) as kb
from (select l.*, substr(l.a, 1, strpos(l.a, ':') - 1) as a_type, substr(l.b, 1, strpos(l.b, ':') - 1) as b_type from (
select a, b, min(first_seen) as first_seen, max(last_seen) as last_seen, arg_min(source, row(coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp)), source)) as source
from (
select e.a, e.b, e.first_seen, e.last_seen, e.source from "cdp"."identity_edges" e join "cdp_scratch"."main"."_identity_<token>_affected" n on n.node = e.a
union all
select a, b, first_seen, last_seen, source from "cdp_scratch"."main"."_identity_<token>_delta"
) l
group by a, b
) l) l;

create table "cdp_scratch"."main"."_identity_<token>_nodes" as
select node, min(key) as key, min(first_seen) as first_seen, max(last_seen) as last_seen, arg_min(source, row(coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp)), source)) as source, min(rec_min) as hook, max(rec_min) as hook_max
from (
  select a as node, ka as key, first_seen, last_seen, source, least(ka, kb) as rec_min from "cdp_scratch"."main"."_identity_<token>_subedges"
  union all
  select b, kb, first_seen, last_seen, source, least(ka, kb) from "cdp_scratch"."main"."_identity_<token>_subedges" where b <> a
) ends
group by node;

select count(*) from (select key from "cdp_scratch"."main"."_identity_<token>_nodes" group by key having count(*) > 1) c;

select count(*) from "cdp_scratch"."main"."_identity_<token>_nodes";

select count(*) from "cdp_scratch"."main"."_identity_<token>_nodes";

create table "cdp_scratch"."main"."_identity_<token>_first" as
select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from "cdp_scratch"."main"."_identity_<token>_nodes" x join "cdp_scratch"."main"."_identity_<token>_nodes" y on y.key = x.hook
where x.hook < x.key;

select count(*) from "cdp_scratch"."main"."_identity_<token>_first" where moved = 1;

create table "cdp_scratch"."main"."_identity_<token>_f0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp_scratch"."main"."_identity_<token>_first" x left join "cdp_scratch"."main"."_identity_<token>_first" y on y.v = x.p;

select count(*) from "cdp_scratch"."main"."_identity_<token>_f0" where moved = 1;

drop table if exists "cdp_scratch"."main"."_identity_<token>_first";

create table "cdp_scratch"."main"."_identity_<token>_bridges" as
select key from "cdp_scratch"."main"."_identity_<token>_nodes" where hook <> hook_max;

create table "cdp_scratch"."main"."_identity_<token>_u0" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(fx.p, x.hook) as a, coalesce(fy.p, y.hook) as b
  from (select ka, kb from "cdp_scratch"."main"."_identity_<token>_subedges" where ka in (select key from "cdp_scratch"."main"."_identity_<token>_bridges") or kb in (select key from "cdp_scratch"."main"."_identity_<token>_bridges")) e
  join "cdp_scratch"."main"."_identity_<token>_nodes" x on x.key = e.ka join "cdp_scratch"."main"."_identity_<token>_nodes" y on y.key = e.kb left join "cdp_scratch"."main"."_identity_<token>_f0" fx on fx.v = x.key left join "cdp_scratch"."main"."_identity_<token>_f0" fy on fy.v = y.key
) s
where s.a <> s.b;

drop table if exists "cdp_scratch"."main"."_identity_<token>_bridges";

create table "cdp_scratch"."main"."_identity_<token>_history" as
select a as v, b as p from "cdp_scratch"."main"."_identity_<token>_u0" where 1 = 0;

select count(*) from "cdp_scratch"."main"."_identity_<token>_u0";

create table "cdp_scratch"."main"."_identity_<token>_hooks" as
select b as v, min(a) as p from "cdp_scratch"."main"."_identity_<token>_u0" group by b;

create table "cdp_scratch"."main"."_identity_<token>_j0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp_scratch"."main"."_identity_<token>_hooks" x left join "cdp_scratch"."main"."_identity_<token>_hooks" y on y.v = x.p;

select count(*) from "cdp_scratch"."main"."_identity_<token>_j0" where moved = 1;

insert into "cdp_scratch"."main"."_identity_<token>_history" (v, p) select v, p from "cdp_scratch"."main"."_identity_<token>_j0";

create table "cdp_scratch"."main"."_identity_<token>_u1" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from "cdp_scratch"."main"."_identity_<token>_u0" g left join "cdp_scratch"."main"."_identity_<token>_j0" x on x.v = g.a left join "cdp_scratch"."main"."_identity_<token>_j0" y on y.v = g.b
) s
where s.a <> s.b;

drop table if exists "cdp_scratch"."main"."_identity_<token>_u0";

drop table if exists "cdp_scratch"."main"."_identity_<token>_j0";

select count(*) from "cdp_scratch"."main"."_identity_<token>_u1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_u1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_hooks";

drop table if exists "cdp_scratch"."main"."_identity_<token>_j0";

create table "cdp_scratch"."main"."_identity_<token>_j0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp_scratch"."main"."_identity_<token>_history" x left join "cdp_scratch"."main"."_identity_<token>_history" y on y.v = x.p;

select count(*) from "cdp_scratch"."main"."_identity_<token>_j0" where moved = 1;

drop table if exists "cdp_scratch"."main"."_identity_<token>_history";

create table "cdp_scratch"."main"."_identity_<token>_labels" as
select root, min(node) as name, md5(concat('profile:', min(node))) as profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen,
  case when sum(case when key >= 0 and key < 72057594037927936 then 1 else 0 end) > 1 or sum(case when key >= 72057594037927936 and key < 144115188075855872 then 1 else 0 end) > 5 or sum(case when key >= 144115188075855872 and key < 216172782113783808 then 1 else 0 end) > 3 or sum(case when key >= 216172782113783808 and key < 288230376151711744 then 1 else 0 end) > 100 then 1 else 0 end as over
from (
select n.node, n.key, n.first_seen, n.last_seen, coalesce(n_l.p, coalesce(n_f.p, n.hook)) as root from "cdp_scratch"."main"."_identity_<token>_nodes" n left join "cdp_scratch"."main"."_identity_<token>_f0" n_f on n_f.v = n.key left join "cdp_scratch"."main"."_identity_<token>_j0" n_l on n_l.v = coalesce(n_f.p, n.hook)
) n
group by root;

create table "cdp_scratch"."main"."_identity_<token>_blocked" ("run_id" varchar, "component" bigint, "a_type" varchar, "a_value" varchar, "b_type" varchar, "b_value" varchar, "limit_type" varchar, "limit_value" integer, "first_seen" timestamp);

create table "cdp_scratch"."main"."_identity_<token>_split_over_nodes" as
select v.key, v.node, v.component, cast(row_number() over (order by v.node) as integer) as i, cast(dense_rank() over (order by v.component) as integer) as c, case when v.key < 72057594037927936 then 0 when v.key < 144115188075855872 then 1 when v.key < 216172782113783808 then 2 else 3 end as t
from (select n.key, n.node, l.root as component from "cdp_scratch"."main"."_identity_<token>_nodes" n left join "cdp_scratch"."main"."_identity_<token>_f0" n_f on n_f.v = n.key left join "cdp_scratch"."main"."_identity_<token>_j0" n_l on n_l.v = coalesce(n_f.p, n.hook) join (select root from "cdp_scratch"."main"."_identity_<token>_labels" where over = 1) l on l.root = coalesce(n_l.p, coalesce(n_f.p, n.hook))) v;

select x.c, x.i as ia, y.i as ib, x.t as ta, y.t as tb
from "cdp_scratch"."main"."_identity_<token>_subedges" e join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" x on x.key = e.ka join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" y on y.key = e.kb
order by x.c, case when e.first_seen is null then 1 else 0 end, e.first_seen, x.i, y.i;

create table "cdp_scratch"."main"."_identity_<token>_split_clusters" ("i" integer, "cluster" integer);

create table "cdp_scratch"."main"."_identity_<token>_split_refused" ("a" integer, "b" integer, "limit_type" varchar, "limit_value" integer);

-- append into "cdp_scratch"."main"."_identity_<token>_split_clusters" (i, cluster): [[1,1],[3,1],[2,2]];

-- append into "cdp_scratch"."main"."_identity_<token>_split_refused" (a, b, limit_type, limit_value): [[2,3,"user_id",1]];

create table "cdp_scratch"."main"."_identity_<token>_split" as
select n.key, m.node as cluster from "cdp_scratch"."main"."_identity_<token>_split_clusters" x join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" n on n.i = x.i join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" m on m.i = x.cluster;

insert into "cdp_scratch"."main"."_identity_<token>_blocked"
select '<identity_run_id>', x.component, e.a_type, substr(e.a, strpos(e.a, ':') + 1), e.b_type, substr(e.b, strpos(e.b, ':') + 1), r.limit_type, r.limit_value, e.first_seen
from "cdp_scratch"."main"."_identity_<token>_split_refused" r join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" x on x.i = r.a join "cdp_scratch"."main"."_identity_<token>_split_over_nodes" y on y.i = r.b join "cdp_scratch"."main"."_identity_<token>_subedges" e on e.ka = x.key and e.kb = y.key;

-- begin transaction;

drop table if exists "cdp_scratch"."main"."_identity_<token>_split_over_nodes";

drop table if exists "cdp_scratch"."main"."_identity_<token>_split_clusters";

drop table if exists "cdp_scratch"."main"."_identity_<token>_split_refused";

-- commit;

create table "cdp_scratch"."main"."_identity_<token>_old" as
select concat(g.id_type, ':', g.id_value) as node, g.profile_id, min(g.first_seen) over (partition by g.profile_id) as profile_first_seen
from "cdp"."identity_graph" g join "cdp_scratch"."main"."_identity_<token>_oldcomp" c on c.component = g.component;

select count(*) from "cdp_scratch"."main"."_identity_<token>_old";

create table "cdp_scratch"."main"."_identity_<token>_clusters" as
select n.node, case when n.key < 72057594037927936 then 'user_id' when n.key < 144115188075855872 then 'email' when n.key < 216172782113783808 then 'phone' else 'anonymous_id' end as id_type, substr(n.node, strpos(n.node, ':') + 1) as id_value, n.source, n.first_seen, n.last_seen, l.root as component,
  coalesce(s.cluster, l.name) as cluster, case when s.cluster is null then l.profile_id else md5(concat('profile:', s.cluster)) end as new_profile_id
from "cdp_scratch"."main"."_identity_<token>_nodes" n left join "cdp_scratch"."main"."_identity_<token>_f0" n_f on n_f.v = n.key left join "cdp_scratch"."main"."_identity_<token>_j0" n_l on n_l.v = coalesce(n_f.p, n.hook) join "cdp_scratch"."main"."_identity_<token>_labels" l on l.root = coalesce(n_l.p, coalesce(n_f.p, n.hook)) left join "cdp_scratch"."main"."_identity_<token>_split" s on s.key = n.key;

create table "cdp_scratch"."main"."_identity_<token>_cand" as
select c.cluster, o.profile_id, count(*) as n, min(o.profile_first_seen) as profile_first_seen
from "cdp_scratch"."main"."_identity_<token>_clusters" c join "cdp_scratch"."main"."_identity_<token>_old" o on o.node = c.node group by c.cluster, o.profile_id;

create table "cdp_scratch"."main"."_identity_<token>_claim" as
select cluster, profile_id from (
  select cluster, profile_id, row_number() over (partition by profile_id order by n desc, cluster) as winner
  from (
    select cluster, profile_id, n, row_number() over (partition by cluster order by case when profile_first_seen is null then 1 else 0 end, profile_first_seen, profile_id) as pref
    from "cdp_scratch"."main"."_identity_<token>_cand"
  ) p where pref = 1
) w where winner = 1;

create table "cdp_scratch"."main"."_identity_<token>_ids" as
select c.cluster, coalesce(k.profile_id, md5(concat('profile:', c.cluster))) as profile_id
from (select distinct cluster from "cdp_scratch"."main"."_identity_<token>_clusters") c left join "cdp_scratch"."main"."_identity_<token>_claim" k on k.cluster = c.cluster;

create table "cdp_scratch"."main"."_identity_<token>_assigned" as
select i.profile_id, c.id_type, c.id_value, c.source, c.first_seen, c.last_seen, c.component, c.node
from "cdp_scratch"."main"."_identity_<token>_clusters" c join "cdp_scratch"."main"."_identity_<token>_ids" i on i.cluster = c.cluster;

create table "cdp_scratch"."main"."_identity_<token>_changes" as
select distinct i.cluster, i.profile_id, o.profile_id as merged_profile_id,
  case when exists (select 1 from "cdp_scratch"."main"."_identity_<token>_claim" k where k.profile_id = o.profile_id) then 'split' else 'merge' end as kind
from "cdp_scratch"."main"."_identity_<token>_old" o join "cdp_scratch"."main"."_identity_<token>_clusters" c on c.node = o.node join "cdp_scratch"."main"."_identity_<token>_ids" i on i.cluster = c.cluster
where o.profile_id <> i.profile_id;

select count(*) from "cdp_scratch"."main"."_identity_<token>_changes";

insert into "cdp"."profile_merges"
select '<identity_run_id>', cast('2010-12-24 00:00:00.000' as timestamp), profile_id, merged_profile_id, kind, a_type, substr(a, cast(length(a_type) + 2 as integer)), b_type, substr(b, cast(length(b_type) + 2 as integer))
from (
  select m.profile_id, m.merged_profile_id, m.kind, e.a, e.b, e.a_type, e.b_type,
    row_number() over (partition by m.profile_id, m.merged_profile_id order by case when e.first_seen is null then 1 else 0 end, e.first_seen, e.a, e.b) as pos
  from "cdp_scratch"."main"."_identity_<token>_changes" m
  join "cdp_scratch"."main"."_identity_<token>_old" oa on oa.profile_id = m.merged_profile_id
  join "cdp_scratch"."main"."_identity_<token>_clusters" ca on ca.node = oa.node and ca.cluster = m.cluster
  join "cdp_scratch"."main"."_identity_<token>_subedges" e on e.a = oa.node or e.b = oa.node
  left join "cdp_scratch"."main"."_identity_<token>_old" ob on ob.node = case when e.a = oa.node then e.b else e.a end
  join "cdp_scratch"."main"."_identity_<token>_clusters" cb on cb.node = case when e.a = oa.node then e.b else e.a end and cb.cluster = m.cluster
  where ob.profile_id is null or ob.profile_id <> m.merged_profile_id
) x where pos = 1;

select count(*) from "cdp"."identity_graph";

-- begin transaction;

delete from "cdp"."identity_graph" where component in (select component from "cdp_scratch"."main"."_identity_<token>_oldcomp");

insert into "cdp"."identity_graph" (profile_id, id_type, id_value, source, first_seen, last_seen, component) select profile_id, id_type, id_value, source, first_seen, last_seen, component from "cdp_scratch"."main"."_identity_<token>_assigned";

-- commit;

delete from "cdp"."identity_blocked_edges" where component in (select component from "cdp_scratch"."main"."_identity_<token>_oldcomp");

insert into "cdp"."identity_blocked_edges" select * from "cdp_scratch"."main"."_identity_<token>_blocked";

select count(*) from "cdp_scratch"."main"."_identity_<token>_changed";

create table "cdp_scratch"."main"."_identity_<token>_seen" as
select min(id_type) as id_type, substr(node, strpos(node, ':') + 1) as id_value, max(last_seen) as last_seen
from (select a as node, a_type as id_type, last_seen from "cdp_scratch"."main"."_identity_<token>_changed" union all select b, b_type, last_seen from "cdp_scratch"."main"."_identity_<token>_changed") e where last_seen is not null group by node;

update "cdp"."identity_graph" as t set last_seen = x.last_seen from "cdp_scratch"."main"."_identity_<token>_seen" x
where x.id_type = t.id_type and x.id_value = t.id_value and (t.last_seen is null or x.last_seen > t.last_seen);

select count(*) from "cdp"."identity_edges";

-- describe "cdp"."identity_edges";

-- begin transaction;

drop table if exists "cdp"."identity_edges__merge";

create table "cdp"."identity_edges__merge" as
select a, b, min(first_seen) as first_seen, max(last_seen) as last_seen, arg_min(source, row(coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp)), source)) as source
from (
select o.a, o.b, o.first_seen, o.last_seen, o.source from "cdp"."identity_edges" o join "cdp_scratch"."main"."_identity_<token>_changed" n on n."a" = o."a" and n."b" = o."b"
union all
select a, b, first_seen, last_seen, source from "cdp_scratch"."main"."_identity_<token>_changed"
) l
group by a, b;

delete from "cdp"."identity_edges" using "cdp"."identity_edges__merge" where "cdp"."identity_edges"."a" = "cdp"."identity_edges__merge"."a" and "cdp"."identity_edges"."b" = "cdp"."identity_edges__merge"."b";

insert into "cdp"."identity_edges" ("a", "b", "first_seen", "last_seen", "source")
select "a", "b", "first_seen", "last_seen", "source" from "cdp"."identity_edges__merge";

drop table if exists "cdp"."identity_edges__merge";

-- commit;

create table "cdp_scratch"."main"."_profiles_<token>_src0" as
select g0.profile_id as profile_id, cast(null as timestamp) as ts, case when (lower(trim(cast(r."customer_id" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(trim(cast(r."customer_id" as varchar)), '^0+$', 'i') or regexp_matches(trim(cast(r."customer_id" as varchar)), '@example\.(com|org|net)$', 'i')) or (lower(nullif(trim(cast(r."customer_id" as varchar)), '')) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(nullif(trim(cast(r."customer_id" as varchar)), ''), '^0+$', 'i') or regexp_matches(nullif(trim(cast(r."customer_id" as varchar)), ''), '@example\.(com|org|net)$', 'i')) then null else nullif(trim(cast(r."customer_id" as varchar)), '') end as "c0"
from "analytics"."stg_customers" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."customer_id" as varchar));

create table "cdp_scratch"."main"."_profiles_<token>_src1" as
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."occurred_at" as timestamp) as ts, case when (lower(trim(cast(r."email" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(trim(cast(r."email" as varchar)), '^0+$', 'i') or regexp_matches(trim(cast(r."email" as varchar)), '@example\.(com|org|net)$', 'i')) or (lower(case when lower(trim(cast(r."email" as varchar))) like '_%@_%.%' and lower(trim(cast(r."email" as varchar))) not like '%@%@%' and lower(trim(cast(r."email" as varchar))) not like '%.' and lower(trim(cast(r."email" as varchar))) not like '% %' then lower(trim(cast(r."email" as varchar))) end) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(case when lower(trim(cast(r."email" as varchar))) like '_%@_%.%' and lower(trim(cast(r."email" as varchar))) not like '%@%@%' and lower(trim(cast(r."email" as varchar))) not like '%.' and lower(trim(cast(r."email" as varchar))) not like '% %' then lower(trim(cast(r."email" as varchar))) end, '^0+$', 'i') or regexp_matches(case when lower(trim(cast(r."email" as varchar))) like '_%@_%.%' and lower(trim(cast(r."email" as varchar))) not like '%@%@%' and lower(trim(cast(r."email" as varchar))) not like '%.' and lower(trim(cast(r."email" as varchar))) not like '% %' then lower(trim(cast(r."email" as varchar))) end, '@example\.(com|org|net)$', 'i')) then null else case when lower(trim(cast(r."email" as varchar))) like '_%@_%.%' and lower(trim(cast(r."email" as varchar))) not like '%@%@%' and lower(trim(cast(r."email" as varchar))) not like '%.' and lower(trim(cast(r."email" as varchar))) not like '% %' then lower(trim(cast(r."email" as varchar))) end end as "c0", case when (lower(trim(cast(r."phone" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(trim(cast(r."phone" as varchar)), '^0+$', 'i') or regexp_matches(trim(cast(r."phone" as varchar)), '@example\.(com|org|net)$', 'i')) or (lower(pn2.value) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(pn2.value, '^0+$', 'i') or regexp_matches(pn2.value, '@example\.(com|org|net)$', 'i')) then null else pn2.value end as "c1", cast(r."first_name" as varchar) as "c2", cast(r."last_name" as varchar) as "c3", r."occurred_at" as "c4", r."type" as "c5", r."product_id" as "c6", r."event" as "c7"
from "analytics"."stg_web_events" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."user_id" as varchar))
left join "cdp"."identity_graph" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."email" as varchar)))
left join "cdp"."identity_phone_numbers" pn2 on pn2.raw = trim(cast(r."phone" as varchar)) and pn2.country = 'GB'
left join "cdp"."identity_graph" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "cdp"."identity_graph" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."anonymous_id" as varchar));

create table "cdp_scratch"."main"."_profiles_<token>_src2" as
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id, g4.profile_id) as profile_id, cast(r."timestamp" as timestamp) as ts, case when (lower(trim(json_extract_string(r."traits", '$.email'))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(trim(json_extract_string(r."traits", '$.email')), '^0+$', 'i') or regexp_matches(trim(json_extract_string(r."traits", '$.email')), '@example\.(com|org|net)$', 'i')) or (lower(case when lower(trim(json_extract_string(r."traits", '$.email'))) like '_%@_%.%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%@%@%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%.' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '% %' then lower(trim(json_extract_string(r."traits", '$.email'))) end) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(case when lower(trim(json_extract_string(r."traits", '$.email'))) like '_%@_%.%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%@%@%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%.' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '% %' then lower(trim(json_extract_string(r."traits", '$.email'))) end, '^0+$', 'i') or regexp_matches(case when lower(trim(json_extract_string(r."traits", '$.email'))) like '_%@_%.%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%@%@%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%.' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '% %' then lower(trim(json_extract_string(r."traits", '$.email'))) end, '@example\.(com|org|net)$', 'i')) then null else case when lower(trim(json_extract_string(r."traits", '$.email'))) like '_%@_%.%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%@%@%' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '%.' and lower(trim(json_extract_string(r."traits", '$.email'))) not like '% %' then lower(trim(json_extract_string(r."traits", '$.email'))) end end as "c0", case when (lower(trim(json_extract_string(r."traits", '$.phone'))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(trim(json_extract_string(r."traits", '$.phone')), '^0+$', 'i') or regexp_matches(trim(json_extract_string(r."traits", '$.phone')), '@example\.(com|org|net)$', 'i')) or (lower(pn3.value) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or regexp_matches(pn3.value, '^0+$', 'i') or regexp_matches(pn3.value, '@example\.(com|org|net)$', 'i')) then null else pn3.value end as "c1", json_extract_string(r."traits", '$.firstName') as "c2", json_extract_string(r."traits", '$.lastName') as "c3"
from (select e.*, row_number() over (partition by e.message_id order by e.received_at) as cdp_copy from "cdp"."raw_events" e) r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."user_id" as varchar))
left join "cdp"."identity_graph" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(json_extract_string(r."traits", '$.email')))
left join "cdp"."identity_graph" g2 on g2.id_type = 'email' and g2.id_value = lower(trim(json_extract_string(r."context", '$.traits.email')))
left join "cdp"."identity_phone_numbers" pn3 on pn3.raw = trim(json_extract_string(r."traits", '$.phone')) and pn3.country = 'GB'
left join "cdp"."identity_graph" g3 on g3.id_type = 'phone' and g3.id_value = pn3.value
left join "cdp"."identity_graph" g4 on g4.id_type = 'anonymous_id' and g4.id_value = trim(cast(r."anonymous_id" as varchar))
where r.cdp_copy = 1;

create table "cdp_scratch"."main"."_profiles_<token>_src3" as
select g0.profile_id as profile_id, cast(r."ordered_at" as timestamp) as ts, r."country" as "c0", r."is_cancellation" as "c1", r."revenue" as "c2", r."ordered_at" as "c3"
from "analytics"."stg_orders" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."customer_id" as varchar));

-- begin transaction;

create or replace table "cdp"."profiles" as
select p.profile_id, p.first_seen, p.last_seen, t0.value as "customer_id", t1.value as "email", t2.value as "phone", t3.value as "first_name", t4.value as "last_name", t5.value as "country", coalesce(t6.value, 0) as "orders", coalesce(t7.value, 0) as "orders_90d", coalesce(t8.value, 0) as "lifetime_value", t9.value as "first_order_at", t10.value as "last_order_at", t11.value as "last_seen_at", coalesce(t12.value, 0) as "page_views_30d", t13.value as "last_product_viewed", cast('2010-12-24 00:00:00.000' as timestamp) as updated_at
from (select profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen from "cdp"."identity_graph" group by profile_id) p
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c0" as value from "cdp_scratch"."main"."_profiles_<token>_src0" where profile_id is not null and "c0" is not null
  ) v
) x where pos = 1
) t0 on t0.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c0" as value from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c0" is not null
union all
select profile_id, ts, 1 as priority, "c0" as value from "cdp_scratch"."main"."_profiles_<token>_src2" where profile_id is not null and "c0" is not null
  ) v
) x where pos = 1
) t1 on t1.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c1" as value from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c1" is not null
union all
select profile_id, ts, 1 as priority, "c1" as value from "cdp_scratch"."main"."_profiles_<token>_src2" where profile_id is not null and "c1" is not null
  ) v
) x where pos = 1
) t2 on t2.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c2" as value from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c2" is not null
union all
select profile_id, ts, 1 as priority, "c2" as value from "cdp_scratch"."main"."_profiles_<token>_src2" where profile_id is not null and "c2" is not null
  ) v
) x where pos = 1
) t3 on t3.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c3" as value from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c3" is not null
union all
select profile_id, ts, 1 as priority, "c3" as value from "cdp_scratch"."main"."_profiles_<token>_src2" where profile_id is not null and "c3" is not null
  ) v
) x where pos = 1
) t4 on t4.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "c0" as value from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null and "c0" is not null
  ) v
) x where pos = 1
) t5 on t5.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null and "c1" in (false)) s group by profile_id
) t6 on t6.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null and "c1" in (false) and ts > cast('2010-09-25 00:00:00.000' as timestamp) and ts <= cast('2010-12-24 00:00:00.000' as timestamp)) s group by profile_id
) t7 on t7.profile_id = p.profile_id
left join (
select profile_id, sum("c2") as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null) s group by profile_id
) t8 on t8.profile_id = p.profile_id
left join (
select profile_id, min("c3") as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null and "c1" in (false)) s group by profile_id
) t9 on t9.profile_id = p.profile_id
left join (
select profile_id, max("c3") as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src3" where profile_id is not null and "c1" in (false)) s group by profile_id
) t10 on t10.profile_id = p.profile_id
left join (
select profile_id, max("c4") as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null) s group by profile_id
) t11 on t11.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c5" in ('page') and ts > cast('2010-11-24 00:00:00.000' as timestamp) and ts <= cast('2010-12-24 00:00:00.000' as timestamp)) s group by profile_id
) t12 on t12.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, "c6" as value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc) as pos
  from (select * from "cdp_scratch"."main"."_profiles_<token>_src1" where profile_id is not null and "c7" in ('Product Viewed')) s where "c6" is not null
) x where pos = 1
) t13 on t13.profile_id = p.profile_id;

-- commit;

-- begin transaction;

drop table if exists "cdp_scratch"."main"."_profiles_<token>_src0";

drop table if exists "cdp_scratch"."main"."_profiles_<token>_src1";

drop table if exists "cdp_scratch"."main"."_profiles_<token>_src2";

drop table if exists "cdp_scratch"."main"."_profiles_<token>_src3";

-- commit;

-- begin transaction;

create or replace table "cdp"."profile_events" as
select "profile_id", "event", "occurred_at", "source", "revenue", "product_id", "order_id", "page_path", "country" from (
select profile_id, ts as "occurred_at", 'events' as "source", "event", "revenue", "product_id", null as "order_id", null as "page_path", null as "country"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id, g4.profile_id) as profile_id, cast(r."timestamp" as timestamp) as ts, cast(r."event" as varchar) as "event", cast(json_extract_string(r."properties", '$.revenue') as double) as "revenue", cast(json_extract_string(r."properties", '$.product_id') as varchar) as "product_id"
from (select e.*, row_number() over (partition by e.message_id order by e.received_at) as cdp_copy from "cdp"."raw_events" e) r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."user_id" as varchar))
left join "cdp"."identity_graph" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(json_extract_string(r."traits", '$.email')))
left join "cdp"."identity_graph" g2 on g2.id_type = 'email' and g2.id_value = lower(trim(json_extract_string(r."context", '$.traits.email')))
left join "cdp"."identity_phone_numbers" pn3 on pn3.raw = trim(json_extract_string(r."traits", '$.phone')) and pn3.country = 'GB'
left join "cdp"."identity_graph" g3 on g3.id_type = 'phone' and g3.id_value = pn3.value
left join "cdp"."identity_graph" g4 on g4.id_type = 'anonymous_id' and g4.id_value = trim(cast(r."anonymous_id" as varchar))
where r.cdp_copy = 1
) a
where profile_id is not null and "event" is not null
union all
select profile_id, ts as "occurred_at", 'stg_web_events' as "source", "event", null as "revenue", "product_id", "order_id", "page_path", null as "country"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."occurred_at" as timestamp) as ts, cast(r."event" as varchar) as "event", cast(r."product_id" as varchar) as "product_id", cast(r."order_id" as varchar) as "order_id", cast(r."page_path" as varchar) as "page_path"
from "analytics"."stg_web_events" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."user_id" as varchar))
left join "cdp"."identity_graph" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."email" as varchar)))
left join "cdp"."identity_phone_numbers" pn2 on pn2.raw = trim(cast(r."phone" as varchar)) and pn2.country = 'GB'
left join "cdp"."identity_graph" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "cdp"."identity_graph" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."anonymous_id" as varchar))
) a
where profile_id is not null and "event" is not null
union all
select profile_id, ts as "occurred_at", 'stg_web_events' as "source", "event", null as "revenue", null as "product_id", null as "order_id", "page_path", null as "country"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."occurred_at" as timestamp) as ts, 'Page Viewed' as "event", cast(r."page_path" as varchar) as "page_path", r."type" as "cdp_where0"
from "analytics"."stg_web_events" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."user_id" as varchar))
left join "cdp"."identity_graph" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."email" as varchar)))
left join "cdp"."identity_phone_numbers" pn2 on pn2.raw = trim(cast(r."phone" as varchar)) and pn2.country = 'GB'
left join "cdp"."identity_graph" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "cdp"."identity_graph" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."anonymous_id" as varchar))
) a
where profile_id is not null and "event" is not null and "cdp_where0" in ('page')
union all
select profile_id, ts as "occurred_at", 'stg_orders' as "source", "event", "revenue", null as "product_id", "order_id", null as "page_path", "country"
from (
select g0.profile_id as profile_id, cast(r."ordered_at" as timestamp) as ts, 'Order Placed' as "event", cast(r."revenue" as double) as "revenue", cast(r."order_id" as varchar) as "order_id", r."country" as "country", r."is_cancellation" as "cdp_where0"
from "analytics"."stg_orders" r
left join "cdp"."identity_graph" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."customer_id" as varchar))
) a
where profile_id is not null and "event" is not null and "cdp_where0" in (false)
) e;

-- commit;

select count(*) from "cdp"."profiles";

select count(*) from "cdp"."profile_events";

select count(*) from "cdp"."identity_graph";

select count(*) from "cdp"."identity_blocked_edges";

insert into "cdp"."identity_runs" values ('<identity_run_id>', cast('2010-12-24 00:00:00.000' as timestamp), cast('2010-12-24 00:00:00.000' as timestamp), 'incremental', 'd2ca709d1a5a9fdc', cast('2010-12-09 12:30:00.000' as timestamp), 5, 5, 5, 100, 5, 1, 5, 2);

-- begin transaction;

drop table if exists "cdp_scratch"."main"."_identity_<token>_links";

drop table if exists "cdp_scratch"."main"."_identity_<token>_records0";

drop table if exists "cdp_scratch"."main"."_identity_<token>_records1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_records2";

drop table if exists "cdp_scratch"."main"."_identity_<token>_records3";

drop table if exists "cdp_scratch"."main"."_identity_<token>_changed";

drop table if exists "cdp_scratch"."main"."_identity_<token>_delta";

drop table if exists "cdp_scratch"."main"."_identity_<token>_nodes";

drop table if exists "cdp_scratch"."main"."_identity_<token>_oldcomp";

drop table if exists "cdp_scratch"."main"."_identity_<token>_touched";

drop table if exists "cdp_scratch"."main"."_identity_<token>_affected";

drop table if exists "cdp_scratch"."main"."_identity_<token>_subedges";

drop table if exists "cdp_scratch"."main"."_identity_<token>_first";

drop table if exists "cdp_scratch"."main"."_identity_<token>_f0";

drop table if exists "cdp_scratch"."main"."_identity_<token>_f1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_bridges";

drop table if exists "cdp_scratch"."main"."_identity_<token>_u0";

drop table if exists "cdp_scratch"."main"."_identity_<token>_u1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_j0";

drop table if exists "cdp_scratch"."main"."_identity_<token>_j1";

drop table if exists "cdp_scratch"."main"."_identity_<token>_hooks";

drop table if exists "cdp_scratch"."main"."_identity_<token>_history";

drop table if exists "cdp_scratch"."main"."_identity_<token>_labels";

drop table if exists "cdp_scratch"."main"."_identity_<token>_split";

drop table if exists "cdp_scratch"."main"."_identity_<token>_blocked";

drop table if exists "cdp_scratch"."main"."_identity_<token>_old";

drop table if exists "cdp_scratch"."main"."_identity_<token>_clusters";

drop table if exists "cdp_scratch"."main"."_identity_<token>_cand";

drop table if exists "cdp_scratch"."main"."_identity_<token>_claim";

drop table if exists "cdp_scratch"."main"."_identity_<token>_ids";

drop table if exists "cdp_scratch"."main"."_identity_<token>_assigned";

drop table if exists "cdp_scratch"."main"."_identity_<token>_changes";

drop table if exists "cdp_scratch"."main"."_identity_<token>_seen";

-- commit;
