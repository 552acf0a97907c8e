drop table if exists "cdp"."cc_components__cc<token>_ids";

create table "cdp"."cc_components__cc<token>_ids" as
select "node" as node, row_number() over (order by "node") as key
from (select "a" as "node" from "cdp"."cc_edges" where "a" is not null union select "b" from "cdp"."cc_edges" where "b" is not null) n;

drop table if exists "cdp"."cc_components__cc<token>_links";

create table "cdp"."cc_components__cc<token>_links" as
select x.key as ka, y.key as kb from "cdp"."cc_edges" g join "cdp"."cc_components__cc<token>_ids" x on x.node = g."a" join "cdp"."cc_components__cc<token>_ids" y on y.node = g."b";

drop table if exists "cdp"."cc_components__cc<token>_nodes";

create table "cdp"."cc_components__cc<token>_nodes" as
select n.key, coalesce(min(l.m), n.key) as hook, coalesce(max(l.m), n.key) as hook_max
from "cdp"."cc_components__cc<token>_ids" n left join (
  select ka as k, least(ka, kb) as m from "cdp"."cc_components__cc<token>_links"
  union all
  select kb, least(ka, kb) from "cdp"."cc_components__cc<token>_links" where kb <> ka
) l on l.k = n.key
group by n.key;

select count(*) from "cdp"."cc_components__cc<token>_nodes";

create table "cdp"."cc_components__cc<token>_first" as
select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from "cdp"."cc_components__cc<token>_nodes" x join "cdp"."cc_components__cc<token>_nodes" y on y.key = x.hook
where x.hook < x.key;

select count(*) from "cdp"."cc_components__cc<token>_first" where moved = 1;

create table "cdp"."cc_components__cc<token>_f0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp"."cc_components__cc<token>_first" x left join "cdp"."cc_components__cc<token>_first" y on y.v = x.p;

select count(*) from "cdp"."cc_components__cc<token>_f0" where moved = 1;

drop table if exists "cdp"."cc_components__cc<token>_first";

create table "cdp"."cc_components__cc<token>_bridges" as
select key from "cdp"."cc_components__cc<token>_nodes" where hook <> hook_max;

create table "cdp"."cc_components__cc<token>_u0" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(fx.p, x.hook) as a, coalesce(fy.p, y.hook) as b
  from (select ka, kb from "cdp"."cc_components__cc<token>_links" where ka in (select key from "cdp"."cc_components__cc<token>_bridges") or kb in (select key from "cdp"."cc_components__cc<token>_bridges")) e
  join "cdp"."cc_components__cc<token>_nodes" x on x.key = e.ka join "cdp"."cc_components__cc<token>_nodes" y on y.key = e.kb left join "cdp"."cc_components__cc<token>_f0" fx on fx.v = x.key left join "cdp"."cc_components__cc<token>_f0" fy on fy.v = y.key
) s
where s.a <> s.b;

drop table if exists "cdp"."cc_components__cc<token>_bridges";

create table "cdp"."cc_components__cc<token>_history" as
select a as v, b as p from "cdp"."cc_components__cc<token>_u0" where 1 = 0;

select count(*) from "cdp"."cc_components__cc<token>_u0";

create table "cdp"."cc_components__cc<token>_hooks" as
select b as v, min(a) as p from "cdp"."cc_components__cc<token>_u0" group by b;

create table "cdp"."cc_components__cc<token>_j0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp"."cc_components__cc<token>_hooks" x left join "cdp"."cc_components__cc<token>_hooks" y on y.v = x.p;

select count(*) from "cdp"."cc_components__cc<token>_j0" where moved = 1;

insert into "cdp"."cc_components__cc<token>_history" (v, p) select v, p from "cdp"."cc_components__cc<token>_j0";

create table "cdp"."cc_components__cc<token>_u1" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from "cdp"."cc_components__cc<token>_u0" g left join "cdp"."cc_components__cc<token>_j0" x on x.v = g.a left join "cdp"."cc_components__cc<token>_j0" y on y.v = g.b
) s
where s.a <> s.b;

drop table if exists "cdp"."cc_components__cc<token>_u0";

drop table if exists "cdp"."cc_components__cc<token>_j0";

select count(*) from "cdp"."cc_components__cc<token>_u1";

drop table if exists "cdp"."cc_components__cc<token>_u1";

drop table if exists "cdp"."cc_components__cc<token>_hooks";

drop table if exists "cdp"."cc_components__cc<token>_j0";

create table "cdp"."cc_components__cc<token>_j0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "cdp"."cc_components__cc<token>_history" x left join "cdp"."cc_components__cc<token>_history" y on y.v = x.p;

select count(*) from "cdp"."cc_components__cc<token>_j0" where moved = 1;

drop table if exists "cdp"."cc_components__cc<token>_history";

drop table if exists "cdp"."cc_components__cc<token>_resolved";

create table "cdp"."cc_components__cc<token>_resolved" as
select n.key, coalesce(n_l.p, coalesce(n_f.p, n.hook)) as root from "cdp"."cc_components__cc<token>_nodes" n left join "cdp"."cc_components__cc<token>_f0" n_f on n_f.v = n.key left join "cdp"."cc_components__cc<token>_j0" n_l on n_l.v = coalesce(n_f.p, n.hook);

-- begin transaction;

create or replace table "cdp"."cc_components" as
select i.node as node, c.node as component
from "cdp"."cc_components__cc<token>_resolved" r join "cdp"."cc_components__cc<token>_ids" i on i.key = r.key join "cdp"."cc_components__cc<token>_ids" c on c.key = r.root;

-- commit;

select count(*) from "cdp"."cc_components__cc<token>_resolved" where 1 = 1;

select count(*) from "cdp"."cc_components__cc<token>_resolved" where root = key;

-- begin transaction;

drop table if exists "cdp"."cc_components__cc<token>_ids";

drop table if exists "cdp"."cc_components__cc<token>_links";

drop table if exists "cdp"."cc_components__cc<token>_nodes";

drop table if exists "cdp"."cc_components__cc<token>_first";

drop table if exists "cdp"."cc_components__cc<token>_f0";

drop table if exists "cdp"."cc_components__cc<token>_f1";

drop table if exists "cdp"."cc_components__cc<token>_bridges";

drop table if exists "cdp"."cc_components__cc<token>_u0";

drop table if exists "cdp"."cc_components__cc<token>_u1";

drop table if exists "cdp"."cc_components__cc<token>_j0";

drop table if exists "cdp"."cc_components__cc<token>_j1";

drop table if exists "cdp"."cc_components__cc<token>_hooks";

drop table if exists "cdp"."cc_components__cc<token>_history";

drop table if exists "cdp"."cc_components__cc<token>_resolved";

-- commit;
