create schema if not exists "DEMO"."CDP";

create table if not exists "DEMO"."CDP"."IDENTITY_EDGES" ("A" varchar, "B" varchar, "FIRST_SEEN" timestamp_ntz, "LAST_SEEN" timestamp_ntz, "SOURCE" varchar);

create table if not exists "DEMO"."CDP"."IDENTITY_GRAPH" ("PROFILE_ID" varchar, "ID_TYPE" varchar, "ID_VALUE" varchar, "SOURCE" varchar, "FIRST_SEEN" timestamp_ntz, "LAST_SEEN" timestamp_ntz, "COMPONENT" bigint);

create table if not exists "DEMO"."CDP"."PROFILE_MERGES" ("RUN_ID" varchar, "MERGED_AT" timestamp_ntz, "PROFILE_ID" varchar, "MERGED_PROFILE_ID" varchar, "KIND" varchar, "LINK_A_TYPE" varchar, "LINK_A_VALUE" varchar, "LINK_B_TYPE" varchar, "LINK_B_VALUE" varchar);

create table if not exists "DEMO"."CDP"."IDENTITY_BLOCKED_EDGES" ("RUN_ID" varchar, "COMPONENT" bigint, "A_TYPE" varchar, "A_VALUE" varchar, "B_TYPE" varchar, "B_VALUE" varchar, "LIMIT_TYPE" varchar, "LIMIT_VALUE" integer, "FIRST_SEEN" timestamp_ntz);

create table if not exists "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" ("RAW" varchar, "COUNTRY" varchar, "VALUE" varchar);

create table if not exists "DEMO"."CDP"."IDENTITY_TOUCHED" ("PROFILE_ID" varchar, "RUN_ID" varchar);

create table if not exists "DEMO"."CDP"."IDENTITY_RUNS" ("RUN_ID" varchar, "STARTED_AT" timestamp_ntz, "FINISHED_AT" timestamp_ntz, "MODE" varchar, "CONFIG_HASH" varchar, "EVENTS_WATERMARK" timestamp_ntz, "LINKS" bigint, "NEW_LINKS" bigint, "RECOMPUTED" bigint, "IDENTIFIERS" bigint, "PROFILES" bigint, "MERGES" bigint, "BLOCKED" bigint, "ROUNDS" integer);

select config_hash, events_watermark from "DEMO"."CDP"."IDENTITY_RUNS" order by started_at desc limit 1;

select max(received_at) from "DEMO"."CDP"."RAW_EVENTS" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp_ntz);

select distinct v.raw from (select trim(get_path(r."TRAITS", 'phone')::varchar) as raw from "DEMO"."CDP"."RAW_EVENTS" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp_ntz)) v
where v.raw is not null and not exists (select 1 from "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" p where p.raw = v.raw and p.country = 'GB');

-- append into "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" (raw, country, value): [["07700 900123","GB","+447700900123"],["(+44) 7700-900-123","GB","+447700900123"]];

create table "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" as
select x.*, least(coalesce(x."K0", 9223372036854775807), coalesce(x."K1", 9223372036854775807), coalesce(x."K2", 9223372036854775807), coalesce(x."K3", 9223372036854775807), coalesce(x."K4", 9223372036854775807)) as rec_min
from (
  select x.ts, x.rcv, x."N0", case when x."N0" is not null then (0 + bitand(hash(x."N0"), 72057594037927935)) end as "K0",
    x."N1", case when x."N1" is not null then (72057594037927936 + bitand(hash(x."N1"), 72057594037927935)) end as "K1",
    x."N2", case when x."N2" is not null then (72057594037927936 + bitand(hash(x."N2"), 72057594037927935)) end as "K2",
    x."N3", case when x."N3" is not null then (144115188075855872 + bitand(hash(x."N3"), 72057594037927935)) end as "K3",
    x."N4", case when x."N4" is not null then (216172782113783808 + bitand(hash(x."N4"), 72057594037927935)) end as "K4"
  from (
    select m.ts, m.rcv, case when m."M0" is null or (lower(m."M0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('user_id:', m."M0") end as "N0",
      case when m."M1" is null or (lower(m."M1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M1", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M1", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R1", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R1", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('email:', m."M1") end as "N1",
      case when m."M2" is null or (lower(m."M2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M2", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M2", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R2", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R2", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('email:', m."M2") end as "N2",
      case when m."M3" is null or (lower(m."M3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M3", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M3", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R3", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R3", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('phone:', m."M3") end as "N3",
      case when m."M4" is null or (lower(m."M4") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M4", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M4", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R4") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R4", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R4", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('anonymous_id:', m."M4") end as "N4"
    from (
      select s.*, nullif(s."R0", '') as "M0", case when lower(s."R1") like '_%@_%.%' and lower(s."R1") not like '%@%@%' and lower(s."R1") not like '%.' and lower(s."R1") not like '% %' then lower(s."R1") end as "M1", case when lower(s."R2") like '_%@_%.%' and lower(s."R2") not like '%@%@%' and lower(s."R2") not like '%.' and lower(s."R2") not like '% %' then lower(s."R2") end as "M2", p3.value as "M3", nullif(s."R4", '') as "M4"
      from (select cast(r."TIMESTAMP" as timestamp_ntz) as ts, r.received_at as rcv, trim(cast(r."USER_ID" as varchar)) as "R0", trim(get_path(r."TRAITS", 'email')::varchar) as "R1", trim(get_path(r."CONTEXT", 'traits.email')::varchar) as "R2", trim(get_path(r."TRAITS", 'phone')::varchar) as "R3", trim(cast(r."ANONYMOUS_ID" as varchar)) as "R4" from "DEMO"."CDP"."RAW_EVENTS" r where r.received_at > cast('2010-12-09 11:50:00.000' as timestamp_ntz)) s
      left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" p3 on p3.raw = s."R3" and p3.country = 'GB'
    ) m
  ) x
) x;

select distinct v.raw from (select trim(cast(r."PHONE" as varchar)) as raw from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" r) v
where v.raw is not null and not exists (select 1 from "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" p where p.raw = v.raw and p.country = 'GB');

-- append into "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" (raw, country, value): [["07700 900123","GB","+447700900123"],["(+44) 7700-900-123","GB","+447700900123"]];

create table "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1" as
select x.*, least(coalesce(x."K0", 9223372036854775807), coalesce(x."K1", 9223372036854775807), coalesce(x."K2", 9223372036854775807), coalesce(x."K3", 9223372036854775807)) as rec_min
from (
  select x.ts, x."N0", case when x."N0" is not null then (0 + bitand(hash(x."N0"), 72057594037927935)) end as "K0",
    x."N1", case when x."N1" is not null then (72057594037927936 + bitand(hash(x."N1"), 72057594037927935)) end as "K1",
    x."N2", case when x."N2" is not null then (144115188075855872 + bitand(hash(x."N2"), 72057594037927935)) end as "K2",
    x."N3", case when x."N3" is not null then (216172782113783808 + bitand(hash(x."N3"), 72057594037927935)) end as "K3"
  from (
    select m.ts, case when m."M0" is null or (lower(m."M0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('user_id:', m."M0") end as "N0",
      case when m."M1" is null or (lower(m."M1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M1", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M1", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R1") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R1", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R1", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('email:', m."M1") end as "N1",
      case when m."M2" is null or (lower(m."M2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M2", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M2", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R2") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R2", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R2", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('phone:', m."M2") end as "N2",
      case when m."M3" is null or (lower(m."M3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M3", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M3", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R3") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R3", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R3", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('anonymous_id:', m."M3") end as "N3"
    from (
      select s.*, nullif(s."R0", '') as "M0", case when lower(s."R1") like '_%@_%.%' and lower(s."R1") not like '%@%@%' and lower(s."R1") not like '%.' and lower(s."R1") not like '% %' then lower(s."R1") end as "M1", p2.value as "M2", nullif(s."R3", '') as "M3"
      from (select cast(r."OCCURRED_AT" as timestamp_ntz) as ts, trim(cast(r."USER_ID" as varchar)) as "R0", trim(cast(r."EMAIL" as varchar)) as "R1", trim(cast(r."PHONE" as varchar)) as "R2", trim(cast(r."ANONYMOUS_ID" as varchar)) as "R3" from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" r) s
      left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" p2 on p2.raw = s."R2" and p2.country = 'GB'
    ) m
  ) x
) x;

create table "DEMO"."CDP"."_IDENTITY_<token>_RECORDS2" as
select x.*, least(coalesce(x."K0", 9223372036854775807)) as rec_min
from (
  select x.ts, x."N0", case when x."N0" is not null then (0 + bitand(hash(x."N0"), 72057594037927935)) end as "K0"
  from (
    select m.ts, case when m."M0" is null or (lower(m."M0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('user_id:', m."M0") end as "N0"
    from (
      select s.*, nullif(s."R0", '') as "M0"
      from (select cast(r."ORDERED_AT" as timestamp_ntz) as ts, trim(cast(r."CUSTOMER_ID" as varchar)) as "R0" from "DEMO"."ANALYTICS"."STG_ORDERS" r) s
      
    ) m
  ) x
) x;

create table "DEMO"."CDP"."_IDENTITY_<token>_RECORDS3" as
select x.*, least(coalesce(x."K0", 9223372036854775807)) as rec_min
from (
  select x.ts, x."N0", case when x."N0" is not null then (0 + bitand(hash(x."N0"), 72057594037927935)) end as "K0"
  from (
    select m.ts, case when m."M0" is null or (lower(m."M0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."M0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."M0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(m."R0") in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(m."R0", '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(m."R0", '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else concat('user_id:', m."M0") end as "N0"
    from (
      select s.*, nullif(s."R0", '') as "M0"
      from (select cast(null as timestamp_ntz) as ts, trim(cast(r."CUSTOMER_ID" as varchar)) as "R0" from "DEMO"."ANALYTICS"."STG_CUSTOMERS" r) s
      
    ) m
  ) x
) x;

create table "DEMO"."CDP"."_IDENTITY_<token>_LINKS" as
select a, b, case when ka < 72057594037927936 then 'user_id' when ka < 144115188075855872 then 'email' when ka < 216172782113783808 then 'phone' else 'anonymous_id' end as a_type, case when kb < 72057594037927936 then 'user_id' when kb < 144115188075855872 then 'email' when kb < 216172782113783808 then 'phone' else 'anonymous_id' end as b_type, first_seen, last_seen, source as source, ka, kb
from (
  select a, b, min(ka) as ka, min(kb) as kb, min(ts) as first_seen, max(ts) as last_seen, get(array_agg(source) within group (order by coalesce(ts, cast('9999-12-31 00:00:00.000' as timestamp_ntz)), source), 0) as source
  from (
    select
      case when centre <= node then centre else node end as a,
      case when centre <= node then node else centre end as b,
      case when centre <= node then centre_key else node_key end as ka,
      case when centre <= node then node_key else centre_key end as kb,
      ts, source
    from (
select coalesce(x."N0", x."N1", x."N2", x."N3", x."N4") as centre, coalesce(x."K0", x."K1", x."K2", x."K3", x."K4") as centre_key, x."N0" as node, x."K0" as node_key, x.rec_min, x.ts, 'events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" x where x."N0" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3", x."N4") as centre, coalesce(x."K0", x."K1", x."K2", x."K3", x."K4") as centre_key, x."N1" as node, x."K1" as node_key, x.rec_min, x.ts, 'events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" x where x."N1" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3", x."N4") as centre, coalesce(x."K0", x."K1", x."K2", x."K3", x."K4") as centre_key, x."N2" as node, x."K2" as node_key, x.rec_min, x.ts, 'events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" x where x."N2" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3", x."N4") as centre, coalesce(x."K0", x."K1", x."K2", x."K3", x."K4") as centre_key, x."N3" as node, x."K3" as node_key, x.rec_min, x.ts, 'events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" x where x."N3" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3", x."N4") as centre, coalesce(x."K0", x."K1", x."K2", x."K3", x."K4") as centre_key, x."N4" as node, x."K4" as node_key, x.rec_min, x.ts, 'events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0" x where x."N4" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3") as centre, coalesce(x."K0", x."K1", x."K2", x."K3") as centre_key, x."N0" as node, x."K0" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1" x where x."N0" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3") as centre, coalesce(x."K0", x."K1", x."K2", x."K3") as centre_key, x."N1" as node, x."K1" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1" x where x."N1" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3") as centre, coalesce(x."K0", x."K1", x."K2", x."K3") as centre_key, x."N2" as node, x."K2" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1" x where x."N2" is not null
union all
select coalesce(x."N0", x."N1", x."N2", x."N3") as centre, coalesce(x."K0", x."K1", x."K2", x."K3") as centre_key, x."N3" as node, x."K3" as node_key, x.rec_min, x.ts, 'stg_web_events' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1" x where x."N3" is not null
union all
select coalesce(x."N0") as centre, coalesce(x."K0") as centre_key, x."N0" as node, x."K0" as node_key, x.rec_min, x.ts, 'stg_orders' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS2" x where x."N0" is not null
union all
select coalesce(x."N0") as centre, coalesce(x."K0") as centre_key, x."N0" as node, x."K0" as node_key, x.rec_min, x.ts, 'stg_customers' as source
from "DEMO"."CDP"."_IDENTITY_<token>_RECORDS3" x where x."N0" is not null
    ) r
  ) l
  group by a, b
) l;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_LINKS";

create table "DEMO"."CDP"."_IDENTITY_<token>_CHANGED" as
select n.*, case when o."A" is null or n."FIRST_SEEN" < o."FIRST_SEEN" or (o."FIRST_SEEN" is null and n."FIRST_SEEN" is not null) then 1 else 0 end as grows
from "DEMO"."CDP"."_IDENTITY_<token>_LINKS" n left join "DEMO"."CDP"."IDENTITY_EDGES" o on o."A" = n."A" and o."B" = n."B"
where o."A" is null or n."FIRST_SEEN" < o."FIRST_SEEN" or (o."FIRST_SEEN" is null and n."FIRST_SEEN" is not null) or n."LAST_SEEN" > o."LAST_SEEN" or (o."LAST_SEEN" is null and n."LAST_SEEN" is not null)
  or (coalesce(n."FIRST_SEEN", cast('9999-12-31 00:00:00.000' as timestamp_ntz)) = coalesce(o."FIRST_SEEN", cast('9999-12-31 00:00:00.000' as timestamp_ntz)) and n."SOURCE" < o."SOURCE");

create table "DEMO"."CDP"."_IDENTITY_<token>_DELTA" as
select a, b, first_seen, last_seen, source from "DEMO"."CDP"."_IDENTITY_<token>_CHANGED" where grows = 1;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_DELTA";

create table "DEMO"."CDP"."_IDENTITY_<token>_TOUCHED" as
select a as node from "DEMO"."CDP"."_IDENTITY_<token>_DELTA" union select b from "DEMO"."CDP"."_IDENTITY_<token>_DELTA";

create table "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP" as
select distinct g.component from "DEMO"."CDP"."IDENTITY_GRAPH" g join (select distinct substr(n.node, 1, position(':', n.node) - 1) as id_type, substr(n.node, position(':', n.node) + 1) as id_value from (
select node from "DEMO"."CDP"."_IDENTITY_<token>_TOUCHED"
) n) t on t.id_type = g.id_type and t.id_value = g.id_value;

create table "DEMO"."CDP"."_IDENTITY_<token>_AFFECTED" as
select concat(g.id_type, ':', g.id_value) as node from "DEMO"."CDP"."IDENTITY_GRAPH" g join "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP" c on c.component = g.component
union select node from "DEMO"."CDP"."_IDENTITY_<token>_TOUCHED";

create table "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" as
select l.*, (case l.a_type when 'user_id' then 0 when 'email' then 72057594037927936 when 'phone' then 144115188075855872 when 'anonymous_id' then 216172782113783808 end + bitand(hash(l.a), 72057594037927935)) as ka, (case l.b_type when 'user_id' then 0 when 'email' then 72057594037927936 when 'phone' then 144115188075855872 when 'anonymous_id' then 216172782113783808 end + bitand(hash(l.b), 72057594037927935)) as kb
from (select l.*, substr(l.a, 1, position(':', l.a) - 1) as a_type, substr(l.b, 1, position(':', l.b) - 1) as b_type from (
select a, b, min(first_seen) as first_seen, max(last_seen) as last_seen, get(array_agg(source) within group (order by coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp_ntz)), source), 0) as source
from (
select e.a, e.b, e.first_seen, e.last_seen, e.source from "DEMO"."CDP"."IDENTITY_EDGES" e join "DEMO"."CDP"."_IDENTITY_<token>_AFFECTED" n on n.node = e.a
union all
select a, b, first_seen, last_seen, source from "DEMO"."CDP"."_IDENTITY_<token>_DELTA"
) l
group by a, b
) l) l;

create table "DEMO"."CDP"."_IDENTITY_<token>_NODES" as
select node, min(key) as key, min(first_seen) as first_seen, max(last_seen) as last_seen, get(array_agg(source) within group (order by coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp_ntz)), source), 0) as source, min(rec_min) as hook, max(rec_min) as hook_max
from (
  select a as node, ka as key, first_seen, last_seen, source, least(ka, kb) as rec_min from "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES"
  union all
  select b, kb, first_seen, last_seen, source, least(ka, kb) from "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" where b <> a
) ends
group by node;

select count(*) from (select key from "DEMO"."CDP"."_IDENTITY_<token>_NODES" group by key having count(*) > 1) c;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_NODES";

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_NODES";

create table "DEMO"."CDP"."_IDENTITY_<token>_FIRST" as
select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from "DEMO"."CDP"."_IDENTITY_<token>_NODES" x join "DEMO"."CDP"."_IDENTITY_<token>_NODES" y on y.key = x.hook
where x.hook < x.key;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_FIRST" where moved = 1;

create table "DEMO"."CDP"."_IDENTITY_<token>_F0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."_IDENTITY_<token>_FIRST" x left join "DEMO"."CDP"."_IDENTITY_<token>_FIRST" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_F0" where moved = 1;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_FIRST";

create table "DEMO"."CDP"."_IDENTITY_<token>_BRIDGES" as
select key from "DEMO"."CDP"."_IDENTITY_<token>_NODES" where hook <> hook_max;

create table "DEMO"."CDP"."_IDENTITY_<token>_U0" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(fx.p, x.hook) as a, coalesce(fy.p, y.hook) as b
  from (select ka, kb from "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" where ka in (select key from "DEMO"."CDP"."_IDENTITY_<token>_BRIDGES") or kb in (select key from "DEMO"."CDP"."_IDENTITY_<token>_BRIDGES")) e
  join "DEMO"."CDP"."_IDENTITY_<token>_NODES" x on x.key = e.ka join "DEMO"."CDP"."_IDENTITY_<token>_NODES" y on y.key = e.kb left join "DEMO"."CDP"."_IDENTITY_<token>_F0" fx on fx.v = x.key left join "DEMO"."CDP"."_IDENTITY_<token>_F0" fy on fy.v = y.key
) s
where s.a <> s.b;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_BRIDGES";

create table "DEMO"."CDP"."_IDENTITY_<token>_HISTORY" as
select a as v, b as p from "DEMO"."CDP"."_IDENTITY_<token>_U0" where 1 = 0;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_U0";

create table "DEMO"."CDP"."_IDENTITY_<token>_HOOKS" as
select b as v, min(a) as p from "DEMO"."CDP"."_IDENTITY_<token>_U0" group by b;

create table "DEMO"."CDP"."_IDENTITY_<token>_J0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."_IDENTITY_<token>_HOOKS" x left join "DEMO"."CDP"."_IDENTITY_<token>_HOOKS" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_J0" where moved = 1;

insert into "DEMO"."CDP"."_IDENTITY_<token>_HISTORY" (v, p) select v, p from "DEMO"."CDP"."_IDENTITY_<token>_J0";

create table "DEMO"."CDP"."_IDENTITY_<token>_U1" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from "DEMO"."CDP"."_IDENTITY_<token>_U0" g left join "DEMO"."CDP"."_IDENTITY_<token>_J0" x on x.v = g.a left join "DEMO"."CDP"."_IDENTITY_<token>_J0" y on y.v = g.b
) s
where s.a <> s.b;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_U0";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_J0";

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_U1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_U1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_HOOKS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_J0";

create table "DEMO"."CDP"."_IDENTITY_<token>_J0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."_IDENTITY_<token>_HISTORY" x left join "DEMO"."CDP"."_IDENTITY_<token>_HISTORY" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_J0" where moved = 1;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_HISTORY";

create table "DEMO"."CDP"."_IDENTITY_<token>_LABELS" as
select root, min(node) as name, md5(concat('profile:', min(node))) as profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen,
  case when sum(case when key >= 0 and key < 72057594037927936 then 1 else 0 end) > 1 or sum(case when key >= 72057594037927936 and key < 144115188075855872 then 1 else 0 end) > 5 or sum(case when key >= 144115188075855872 and key < 216172782113783808 then 1 else 0 end) > 3 or sum(case when key >= 216172782113783808 and key < 288230376151711744 then 1 else 0 end) > 100 then 1 else 0 end as over
from (
select n.node, n.key, n.first_seen, n.last_seen, coalesce(n_l.p, coalesce(n_f.p, n.hook)) as root from "DEMO"."CDP"."_IDENTITY_<token>_NODES" n left join "DEMO"."CDP"."_IDENTITY_<token>_F0" n_f on n_f.v = n.key left join "DEMO"."CDP"."_IDENTITY_<token>_J0" n_l on n_l.v = coalesce(n_f.p, n.hook)
) n
group by root;

create table "DEMO"."CDP"."_IDENTITY_<token>_BLOCKED" ("RUN_ID" varchar, "COMPONENT" bigint, "A_TYPE" varchar, "A_VALUE" varchar, "B_TYPE" varchar, "B_VALUE" varchar, "LIMIT_TYPE" varchar, "LIMIT_VALUE" integer, "FIRST_SEEN" timestamp_ntz);

create table "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" as
select v.key, v.node, v.component, cast(row_number() over (order by v.node) as integer) as i, cast(dense_rank() over (order by v.component) as integer) as c, case when v.key < 72057594037927936 then 0 when v.key < 144115188075855872 then 1 when v.key < 216172782113783808 then 2 else 3 end as t
from (select n.key, n.node, l.root as component from "DEMO"."CDP"."_IDENTITY_<token>_NODES" n left join "DEMO"."CDP"."_IDENTITY_<token>_F0" n_f on n_f.v = n.key left join "DEMO"."CDP"."_IDENTITY_<token>_J0" n_l on n_l.v = coalesce(n_f.p, n.hook) join (select root from "DEMO"."CDP"."_IDENTITY_<token>_LABELS" where over = 1) l on l.root = coalesce(n_l.p, coalesce(n_f.p, n.hook))) v;

select x.c, x.i as ia, y.i as ib, x.t as ta, y.t as tb
from "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" e join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" x on x.key = e.ka join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" y on y.key = e.kb
order by x.c, case when e.first_seen is null then 1 else 0 end, e.first_seen, x.i, y.i;

create table "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_CLUSTERS" ("I" integer, "CLUSTER" integer);

create table "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_REFUSED" ("A" integer, "B" integer, "LIMIT_TYPE" varchar, "LIMIT_VALUE" integer);

-- append into "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_CLUSTERS" (i, cluster): [[1,1],[3,1],[2,2]];

-- append into "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_REFUSED" (a, b, limit_type, limit_value): [[2,3,"user_id",1]];

create table "DEMO"."CDP"."_IDENTITY_<token>_SPLIT" as
select n.key, m.node as cluster from "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_CLUSTERS" x join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" n on n.i = x.i join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" m on m.i = x.cluster;

insert into "DEMO"."CDP"."_IDENTITY_<token>_BLOCKED"
select '<identity_run_id>', x.component, e.a_type, substr(e.a, position(':', e.a) + 1), e.b_type, substr(e.b, position(':', e.b) + 1), r.limit_type, r.limit_value, e.first_seen
from "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_REFUSED" r join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" x on x.i = r.a join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES" y on y.i = r.b join "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" e on e.ka = x.key and e.kb = y.key;

-- begin transaction;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_OVER_NODES";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_CLUSTERS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SPLIT_REFUSED";

-- commit;

create table "DEMO"."CDP"."_IDENTITY_<token>_OLD" as
select concat(g.id_type, ':', g.id_value) as node, g.profile_id, min(g.first_seen) over (partition by g.profile_id) as profile_first_seen
from "DEMO"."CDP"."IDENTITY_GRAPH" g join "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP" c on c.component = g.component;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_OLD";

create table "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" as
select n.node, case when n.key < 72057594037927936 then 'user_id' when n.key < 144115188075855872 then 'email' when n.key < 216172782113783808 then 'phone' else 'anonymous_id' end as id_type, substr(n.node, position(':', n.node) + 1) as id_value, n.source, n.first_seen, n.last_seen, l.root as component,
  coalesce(s.cluster, l.name) as cluster, case when s.cluster is null then l.profile_id else md5(concat('profile:', s.cluster)) end as new_profile_id
from "DEMO"."CDP"."_IDENTITY_<token>_NODES" n left join "DEMO"."CDP"."_IDENTITY_<token>_F0" n_f on n_f.v = n.key left join "DEMO"."CDP"."_IDENTITY_<token>_J0" n_l on n_l.v = coalesce(n_f.p, n.hook) join "DEMO"."CDP"."_IDENTITY_<token>_LABELS" l on l.root = coalesce(n_l.p, coalesce(n_f.p, n.hook)) left join "DEMO"."CDP"."_IDENTITY_<token>_SPLIT" s on s.key = n.key;

create table "DEMO"."CDP"."_IDENTITY_<token>_CAND" as
select c.cluster, o.profile_id, count(*) as n, min(o.profile_first_seen) as profile_first_seen
from "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" c join "DEMO"."CDP"."_IDENTITY_<token>_OLD" o on o.node = c.node group by c.cluster, o.profile_id;

create table "DEMO"."CDP"."_IDENTITY_<token>_CLAIM" as
select cluster, profile_id from (
  select cluster, profile_id, row_number() over (partition by profile_id order by n desc, cluster) as winner
  from (
    select cluster, profile_id, n, row_number() over (partition by cluster order by case when profile_first_seen is null then 1 else 0 end, profile_first_seen, profile_id) as pref
    from "DEMO"."CDP"."_IDENTITY_<token>_CAND"
  ) p where pref = 1
) w where winner = 1;

create table "DEMO"."CDP"."_IDENTITY_<token>_IDS" as
select c.cluster, coalesce(k.profile_id, md5(concat('profile:', c.cluster))) as profile_id
from (select distinct cluster from "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS") c left join "DEMO"."CDP"."_IDENTITY_<token>_CLAIM" k on k.cluster = c.cluster;

create table "DEMO"."CDP"."_IDENTITY_<token>_ASSIGNED" as
select i.profile_id, c.id_type, c.id_value, c.source, c.first_seen, c.last_seen, c.component, c.node
from "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" c join "DEMO"."CDP"."_IDENTITY_<token>_IDS" i on i.cluster = c.cluster;

create table "DEMO"."CDP"."_IDENTITY_<token>_CHANGES" as
select distinct i.cluster, i.profile_id, o.profile_id as merged_profile_id,
  case when exists (select 1 from "DEMO"."CDP"."_IDENTITY_<token>_CLAIM" k where k.profile_id = o.profile_id) then 'split' else 'merge' end as kind
from "DEMO"."CDP"."_IDENTITY_<token>_OLD" o join "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" c on c.node = o.node join "DEMO"."CDP"."_IDENTITY_<token>_IDS" i on i.cluster = c.cluster
where o.profile_id <> i.profile_id;

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_CHANGES";

insert into "DEMO"."CDP"."PROFILE_MERGES"
select '<identity_run_id>', cast('2010-12-24 00:00:00.000' as timestamp_ntz), profile_id, merged_profile_id, kind, a_type, substr(a, cast(length(a_type) + 2 as integer)), b_type, substr(b, cast(length(b_type) + 2 as integer))
from (
  select m.profile_id, m.merged_profile_id, m.kind, e.a, e.b, e.a_type, e.b_type,
    row_number() over (partition by m.profile_id, m.merged_profile_id order by case when e.first_seen is null then 1 else 0 end, e.first_seen, e.a, e.b) as pos
  from "DEMO"."CDP"."_IDENTITY_<token>_CHANGES" m
  join "DEMO"."CDP"."_IDENTITY_<token>_OLD" oa on oa.profile_id = m.merged_profile_id
  join "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" ca on ca.node = oa.node and ca.cluster = m.cluster
  join "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES" e on e.a = oa.node or e.b = oa.node
  left join "DEMO"."CDP"."_IDENTITY_<token>_OLD" ob on ob.node = case when e.a = oa.node then e.b else e.a end
  join "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS" cb on cb.node = case when e.a = oa.node then e.b else e.a end and cb.cluster = m.cluster
  where ob.profile_id is null or ob.profile_id <> m.merged_profile_id
) x where pos = 1;

select count(*) from "DEMO"."CDP"."IDENTITY_GRAPH";

-- begin transaction;

delete from "DEMO"."CDP"."IDENTITY_GRAPH" where component in (select component from "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP");

insert into "DEMO"."CDP"."IDENTITY_GRAPH" (profile_id, id_type, id_value, source, first_seen, last_seen, component) select profile_id, id_type, id_value, source, first_seen, last_seen, component from "DEMO"."CDP"."_IDENTITY_<token>_ASSIGNED";

-- commit;

delete from "DEMO"."CDP"."IDENTITY_BLOCKED_EDGES" where component in (select component from "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP");

insert into "DEMO"."CDP"."IDENTITY_BLOCKED_EDGES" select * from "DEMO"."CDP"."_IDENTITY_<token>_BLOCKED";

select count(*) from "DEMO"."CDP"."_IDENTITY_<token>_CHANGED";

create table "DEMO"."CDP"."_IDENTITY_<token>_SEEN" as
select min(id_type) as id_type, substr(node, position(':', node) + 1) as id_value, max(last_seen) as last_seen
from (select a as node, a_type as id_type, last_seen from "DEMO"."CDP"."_IDENTITY_<token>_CHANGED" union all select b, b_type, last_seen from "DEMO"."CDP"."_IDENTITY_<token>_CHANGED") e where last_seen is not null group by node;

update "DEMO"."CDP"."IDENTITY_GRAPH" as t set last_seen = x.last_seen from "DEMO"."CDP"."_IDENTITY_<token>_SEEN" x
where x.id_type = t.id_type and x.id_value = t.id_value and (t.last_seen is null or x.last_seen > t.last_seen);

select count(*) from "DEMO"."CDP"."IDENTITY_EDGES";

-- describe "DEMO"."CDP"."IDENTITY_EDGES";

-- begin transaction;

merge into "DEMO"."CDP"."IDENTITY_EDGES" t
using (
select a, b, min(first_seen) as first_seen, max(last_seen) as last_seen, get(array_agg(source) within group (order by coalesce(first_seen, cast('9999-12-31 00:00:00.000' as timestamp_ntz)), source), 0) as source
from (
select o.a, o.b, o.first_seen, o.last_seen, o.source from "DEMO"."CDP"."IDENTITY_EDGES" o join "DEMO"."CDP"."_IDENTITY_<token>_CHANGED" n on n."A" = o."A" and n."B" = o."B"
union all
select a, b, first_seen, last_seen, source from "DEMO"."CDP"."_IDENTITY_<token>_CHANGED"
) l
group by a, b
) s
on t."A" = s."A" and t."B" = s."B"
when matched then update set "FIRST_SEEN" = s."FIRST_SEEN", "LAST_SEEN" = s."LAST_SEEN", "SOURCE" = s."SOURCE"
when not matched then insert ("A", "B", "FIRST_SEEN", "LAST_SEEN", "SOURCE") values (s."A", s."B", s."FIRST_SEEN", s."LAST_SEEN", s."SOURCE");

-- commit;

create table "DEMO"."CDP"."_PROFILES_<token>_SRC0" as
select g0.profile_id as profile_id, cast(null as timestamp_ntz) as ts, case when (lower(trim(cast(r."CUSTOMER_ID" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(trim(cast(r."CUSTOMER_ID" as varchar)), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(trim(cast(r."CUSTOMER_ID" as varchar)), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(nullif(trim(cast(r."CUSTOMER_ID" as varchar)), '')) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(nullif(trim(cast(r."CUSTOMER_ID" as varchar)), ''), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(nullif(trim(cast(r."CUSTOMER_ID" as varchar)), ''), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else nullif(trim(cast(r."CUSTOMER_ID" as varchar)), '') end as "C0"
from "DEMO"."ANALYTICS"."STG_CUSTOMERS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."CUSTOMER_ID" as varchar));

create table "DEMO"."CDP"."_PROFILES_<token>_SRC1" as
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."OCCURRED_AT" as timestamp_ntz) as ts, case when (lower(trim(cast(r."EMAIL" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(trim(cast(r."EMAIL" as varchar)), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(trim(cast(r."EMAIL" as varchar)), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(case when lower(trim(cast(r."EMAIL" as varchar))) like '_%@_%.%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%@%@%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%.' and lower(trim(cast(r."EMAIL" as varchar))) not like '% %' then lower(trim(cast(r."EMAIL" as varchar))) end) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(case when lower(trim(cast(r."EMAIL" as varchar))) like '_%@_%.%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%@%@%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%.' and lower(trim(cast(r."EMAIL" as varchar))) not like '% %' then lower(trim(cast(r."EMAIL" as varchar))) end, '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(case when lower(trim(cast(r."EMAIL" as varchar))) like '_%@_%.%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%@%@%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%.' and lower(trim(cast(r."EMAIL" as varchar))) not like '% %' then lower(trim(cast(r."EMAIL" as varchar))) end, '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else case when lower(trim(cast(r."EMAIL" as varchar))) like '_%@_%.%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%@%@%' and lower(trim(cast(r."EMAIL" as varchar))) not like '%.' and lower(trim(cast(r."EMAIL" as varchar))) not like '% %' then lower(trim(cast(r."EMAIL" as varchar))) end end as "C0", case when (lower(trim(cast(r."PHONE" as varchar))) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(trim(cast(r."PHONE" as varchar)), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(trim(cast(r."PHONE" as varchar)), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(pn2.value) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(pn2.value, '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(pn2.value, '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else pn2.value end as "C1", cast(r."FIRST_NAME" as varchar) as "C2", cast(r."LAST_NAME" as varchar) as "C3", r."OCCURRED_AT" as "C4", r."TYPE" as "C5", r."PRODUCT_ID" as "C6", r."EVENT" as "C7"
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."USER_ID" as varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."EMAIL" as varchar)))
left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" pn2 on pn2.raw = trim(cast(r."PHONE" as varchar)) and pn2.country = 'GB'
left join "DEMO"."CDP"."IDENTITY_GRAPH" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "DEMO"."CDP"."IDENTITY_GRAPH" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."ANONYMOUS_ID" as varchar));

create table "DEMO"."CDP"."_PROFILES_<token>_SRC2" as
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id, g4.profile_id) as profile_id, cast(r."TIMESTAMP" as timestamp_ntz) as ts, case when (lower(trim(get_path(r."TRAITS", 'email')::varchar)) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(trim(get_path(r."TRAITS", 'email')::varchar), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(trim(get_path(r."TRAITS", 'email')::varchar), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(case when lower(trim(get_path(r."TRAITS", 'email')::varchar)) like '_%@_%.%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%@%@%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%.' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '% %' then lower(trim(get_path(r."TRAITS", 'email')::varchar)) end) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(case when lower(trim(get_path(r."TRAITS", 'email')::varchar)) like '_%@_%.%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%@%@%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%.' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '% %' then lower(trim(get_path(r."TRAITS", 'email')::varchar)) end, '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(case when lower(trim(get_path(r."TRAITS", 'email')::varchar)) like '_%@_%.%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%@%@%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%.' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '% %' then lower(trim(get_path(r."TRAITS", 'email')::varchar)) end, '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else case when lower(trim(get_path(r."TRAITS", 'email')::varchar)) like '_%@_%.%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%@%@%' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '%.' and lower(trim(get_path(r."TRAITS", 'email')::varchar)) not like '% %' then lower(trim(get_path(r."TRAITS", 'email')::varchar)) end end as "C0", case when (lower(trim(get_path(r."TRAITS", 'phone')::varchar)) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(trim(get_path(r."TRAITS", 'phone')::varchar), '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(trim(get_path(r."TRAITS", 'phone')::varchar), '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) or (lower(pn3.value) in ('unknown', 'null', 'undefined', 'none', 'n/a', '', 'test@example.com') or (regexp_instr(pn3.value, '^0+$', 1, 1, 0, 'i') > 0) or (regexp_instr(pn3.value, '@example\\.(com|org|net)$', 1, 1, 0, 'i') > 0)) then null else pn3.value end as "C1", get_path(r."TRAITS", 'firstName')::varchar as "C2", get_path(r."TRAITS", 'lastName')::varchar as "C3"
from (select e.*, row_number() over (partition by e.message_id order by e.received_at) as cdp_copy from "DEMO"."CDP"."RAW_EVENTS" e) r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."USER_ID" as varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(get_path(r."TRAITS", 'email')::varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g2 on g2.id_type = 'email' and g2.id_value = lower(trim(get_path(r."CONTEXT", 'traits.email')::varchar))
left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" pn3 on pn3.raw = trim(get_path(r."TRAITS", 'phone')::varchar) and pn3.country = 'GB'
left join "DEMO"."CDP"."IDENTITY_GRAPH" g3 on g3.id_type = 'phone' and g3.id_value = pn3.value
left join "DEMO"."CDP"."IDENTITY_GRAPH" g4 on g4.id_type = 'anonymous_id' and g4.id_value = trim(cast(r."ANONYMOUS_ID" as varchar))
where r.cdp_copy = 1;

create table "DEMO"."CDP"."_PROFILES_<token>_SRC3" as
select g0.profile_id as profile_id, cast(r."ORDERED_AT" as timestamp_ntz) as ts, r."COUNTRY" as "C0", r."IS_CANCELLATION" as "C1", r."REVENUE" as "C2", r."ORDERED_AT" as "C3"
from "DEMO"."ANALYTICS"."STG_ORDERS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."CUSTOMER_ID" as varchar));

-- begin transaction;

create or replace table "DEMO"."CDP"."PROFILES" as
select p.profile_id, p.first_seen, p.last_seen, t0.value as "CUSTOMER_ID", t1.value as "EMAIL", t2.value as "PHONE", t3.value as "FIRST_NAME", t4.value as "LAST_NAME", t5.value as "COUNTRY", coalesce(t6.value, 0) as "ORDERS", coalesce(t7.value, 0) as "ORDERS_90D", coalesce(t8.value, 0) as "LIFETIME_VALUE", t9.value as "FIRST_ORDER_AT", t10.value as "LAST_ORDER_AT", t11.value as "LAST_SEEN_AT", coalesce(t12.value, 0) as "PAGE_VIEWS_30D", t13.value as "LAST_PRODUCT_VIEWED", cast('2010-12-24 00:00:00.000' as timestamp_ntz) as updated_at
from (select profile_id, min(first_seen) as first_seen, max(last_seen) as last_seen from "DEMO"."CDP"."IDENTITY_GRAPH" group by profile_id) p
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C0" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC0" where profile_id is not null and "C0" is not null
  ) v
) x where pos = 1
) t0 on t0.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C0" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C0" is not null
union all
select profile_id, ts, 1 as priority, "C0" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC2" where profile_id is not null and "C0" is not null
  ) v
) x where pos = 1
) t1 on t1.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C1" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C1" is not null
union all
select profile_id, ts, 1 as priority, "C1" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC2" where profile_id is not null and "C1" is not null
  ) v
) x where pos = 1
) t2 on t2.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C2" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C2" is not null
union all
select profile_id, ts, 1 as priority, "C2" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC2" where profile_id is not null and "C2" is not null
  ) v
) x where pos = 1
) t3 on t3.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C3" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C3" is not null
union all
select profile_id, ts, 1 as priority, "C3" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC2" where profile_id is not null and "C3" is not null
  ) v
) x where pos = 1
) t4 on t4.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc, priority) as pos from (
select profile_id, ts, 0 as priority, "C0" as value from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null and "C0" is not null
  ) v
) x where pos = 1
) t5 on t5.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null and "C1" in (false)) s group by profile_id
) t6 on t6.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null and "C1" in (false) and ts > cast('2010-09-25 00:00:00.000' as timestamp_ntz) and ts <= cast('2010-12-24 00:00:00.000' as timestamp_ntz)) s group by profile_id
) t7 on t7.profile_id = p.profile_id
left join (
select profile_id, sum("C2") as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null) s group by profile_id
) t8 on t8.profile_id = p.profile_id
left join (
select profile_id, min("C3") as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null and "C1" in (false)) s group by profile_id
) t9 on t9.profile_id = p.profile_id
left join (
select profile_id, max("C3") as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC3" where profile_id is not null and "C1" in (false)) s group by profile_id
) t10 on t10.profile_id = p.profile_id
left join (
select profile_id, max("C4") as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null) s group by profile_id
) t11 on t11.profile_id = p.profile_id
left join (
select profile_id, count(*) as value from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C5" in ('page') and ts > cast('2010-11-24 00:00:00.000' as timestamp_ntz) and ts <= cast('2010-12-24 00:00:00.000' as timestamp_ntz)) s group by profile_id
) t12 on t12.profile_id = p.profile_id
left join (
select profile_id, value from (
  select profile_id, "C6" as value, row_number() over (partition by profile_id order by case when ts is null then 1 else 0 end, ts desc) as pos
  from (select * from "DEMO"."CDP"."_PROFILES_<token>_SRC1" where profile_id is not null and "C7" in ('Product Viewed')) s where "C6" is not null
) x where pos = 1
) t13 on t13.profile_id = p.profile_id;

-- commit;

-- begin transaction;

drop table if exists "DEMO"."CDP"."_PROFILES_<token>_SRC0";

drop table if exists "DEMO"."CDP"."_PROFILES_<token>_SRC1";

drop table if exists "DEMO"."CDP"."_PROFILES_<token>_SRC2";

drop table if exists "DEMO"."CDP"."_PROFILES_<token>_SRC3";

-- commit;

-- begin transaction;

create or replace table "DEMO"."CDP"."PROFILE_EVENTS" as
select "PROFILE_ID", "EVENT", "OCCURRED_AT", "SOURCE", "REVENUE", "PRODUCT_ID", "ORDER_ID", "PAGE_PATH", "COUNTRY" from (
select profile_id, ts as "OCCURRED_AT", 'events' as "SOURCE", "EVENT", "REVENUE", "PRODUCT_ID", null as "ORDER_ID", null as "PAGE_PATH", null as "COUNTRY"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id, g4.profile_id) as profile_id, cast(r."TIMESTAMP" as timestamp_ntz) as ts, cast(r."EVENT" as varchar) as "EVENT", cast(get_path(r."PROPERTIES", 'revenue')::varchar as float) as "REVENUE", cast(get_path(r."PROPERTIES", 'product_id')::varchar as varchar) as "PRODUCT_ID"
from (select e.*, row_number() over (partition by e.message_id order by e.received_at) as cdp_copy from "DEMO"."CDP"."RAW_EVENTS" e) r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."USER_ID" as varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(get_path(r."TRAITS", 'email')::varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g2 on g2.id_type = 'email' and g2.id_value = lower(trim(get_path(r."CONTEXT", 'traits.email')::varchar))
left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" pn3 on pn3.raw = trim(get_path(r."TRAITS", 'phone')::varchar) and pn3.country = 'GB'
left join "DEMO"."CDP"."IDENTITY_GRAPH" g3 on g3.id_type = 'phone' and g3.id_value = pn3.value
left join "DEMO"."CDP"."IDENTITY_GRAPH" g4 on g4.id_type = 'anonymous_id' and g4.id_value = trim(cast(r."ANONYMOUS_ID" as varchar))
where r.cdp_copy = 1
) a
where profile_id is not null and "EVENT" is not null
union all
select profile_id, ts as "OCCURRED_AT", 'stg_web_events' as "SOURCE", "EVENT", null as "REVENUE", "PRODUCT_ID", "ORDER_ID", "PAGE_PATH", null as "COUNTRY"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."OCCURRED_AT" as timestamp_ntz) as ts, cast(r."EVENT" as varchar) as "EVENT", cast(r."PRODUCT_ID" as varchar) as "PRODUCT_ID", cast(r."ORDER_ID" as varchar) as "ORDER_ID", cast(r."PAGE_PATH" as varchar) as "PAGE_PATH"
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."USER_ID" as varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."EMAIL" as varchar)))
left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" pn2 on pn2.raw = trim(cast(r."PHONE" as varchar)) and pn2.country = 'GB'
left join "DEMO"."CDP"."IDENTITY_GRAPH" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "DEMO"."CDP"."IDENTITY_GRAPH" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."ANONYMOUS_ID" as varchar))
) a
where profile_id is not null and "EVENT" is not null
union all
select profile_id, ts as "OCCURRED_AT", 'stg_web_events' as "SOURCE", "EVENT", null as "REVENUE", null as "PRODUCT_ID", null as "ORDER_ID", "PAGE_PATH", null as "COUNTRY"
from (
select coalesce(g0.profile_id, g1.profile_id, g2.profile_id, g3.profile_id) as profile_id, cast(r."OCCURRED_AT" as timestamp_ntz) as ts, 'Page Viewed' as "EVENT", cast(r."PAGE_PATH" as varchar) as "PAGE_PATH", r."TYPE" as "CDP_WHERE0"
from "DEMO"."ANALYTICS"."STG_WEB_EVENTS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."USER_ID" as varchar))
left join "DEMO"."CDP"."IDENTITY_GRAPH" g1 on g1.id_type = 'email' and g1.id_value = lower(trim(cast(r."EMAIL" as varchar)))
left join "DEMO"."CDP"."IDENTITY_PHONE_NUMBERS" pn2 on pn2.raw = trim(cast(r."PHONE" as varchar)) and pn2.country = 'GB'
left join "DEMO"."CDP"."IDENTITY_GRAPH" g2 on g2.id_type = 'phone' and g2.id_value = pn2.value
left join "DEMO"."CDP"."IDENTITY_GRAPH" g3 on g3.id_type = 'anonymous_id' and g3.id_value = trim(cast(r."ANONYMOUS_ID" as varchar))
) a
where profile_id is not null and "EVENT" is not null and "CDP_WHERE0" in ('page')
union all
select profile_id, ts as "OCCURRED_AT", 'stg_orders' as "SOURCE", "EVENT", "REVENUE", null as "PRODUCT_ID", "ORDER_ID", null as "PAGE_PATH", "COUNTRY"
from (
select g0.profile_id as profile_id, cast(r."ORDERED_AT" as timestamp_ntz) as ts, 'Order Placed' as "EVENT", cast(r."REVENUE" as float) as "REVENUE", cast(r."ORDER_ID" as varchar) as "ORDER_ID", r."COUNTRY" as "COUNTRY", r."IS_CANCELLATION" as "CDP_WHERE0"
from "DEMO"."ANALYTICS"."STG_ORDERS" r
left join "DEMO"."CDP"."IDENTITY_GRAPH" g0 on g0.id_type = 'user_id' and g0.id_value = trim(cast(r."CUSTOMER_ID" as varchar))
) a
where profile_id is not null and "EVENT" is not null and "CDP_WHERE0" in (false)
) e;

-- commit;

select count(*) from "DEMO"."CDP"."PROFILES";

select count(*) from "DEMO"."CDP"."PROFILE_EVENTS";

select count(*) from "DEMO"."CDP"."IDENTITY_GRAPH";

select count(*) from "DEMO"."CDP"."IDENTITY_BLOCKED_EDGES";

insert into "DEMO"."CDP"."IDENTITY_RUNS" values ('<identity_run_id>', cast('2010-12-24 00:00:00.000' as timestamp_ntz), cast('2010-12-24 00:00:00.000' as timestamp_ntz), 'incremental', 'd2ca709d1a5a9fdc', cast('2010-12-09 12:30:00.000' as timestamp_ntz), 5, 5, 5, 100, 5, 1, 5, 2);

-- begin transaction;

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_LINKS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_RECORDS0";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_RECORDS1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_RECORDS2";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_RECORDS3";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_CHANGED";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_DELTA";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_NODES";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_OLDCOMP";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_TOUCHED";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_AFFECTED";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SUBEDGES";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_FIRST";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_F0";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_F1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_BRIDGES";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_U0";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_U1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_J0";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_J1";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_HOOKS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_HISTORY";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_LABELS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SPLIT";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_BLOCKED";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_OLD";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_CLUSTERS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_CAND";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_CLAIM";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_IDS";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_ASSIGNED";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_CHANGES";

drop table if exists "DEMO"."CDP"."_IDENTITY_<token>_SEEN";

-- commit;
