drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" as
select "NODE" as node, row_number() over (order by "NODE") as key
from (select "A" as "NODE" from "DEMO"."CDP"."CC_EDGES" where "A" is not null union select "B" from "DEMO"."CDP"."CC_EDGES" where "B" is not null) n;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS" as
select x.key as ka, y.key as kb from "DEMO"."CDP"."CC_EDGES" g join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" x on x.node = g."A" join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" y on y.node = g."B";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" as
select n.key, coalesce(min(l.m), n.key) as hook, coalesce(max(l.m), n.key) as hook_max
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" n left join (
  select ka as k, least(ka, kb) as m from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS"
  union all
  select kb, least(ka, kb) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS" where kb <> ka
) l on l.k = n.key
group by n.key;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST" as
select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" x join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" y on y.key = x.hook
where x.hook < x.key;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST" where moved = 1;

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST" x left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0" where moved = 1;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_BRIDGES" as
select key from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" where hook <> hook_max;

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(fx.p, x.hook) as a, coalesce(fy.p, y.hook) as b
  from (select ka, kb from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS" where ka in (select key from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_BRIDGES") or kb in (select key from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_BRIDGES")) e
  join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" x on x.key = e.ka join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" y on y.key = e.kb left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0" fx on fx.v = x.key left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0" fy on fy.v = y.key
) s
where s.a <> s.b;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_BRIDGES";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY" as
select a as v, b as p from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0" where 1 = 0;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HOOKS" as
select b as v, min(a) as p from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0" group by b;

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HOOKS" x left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HOOKS" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" where moved = 1;

insert into "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY" (v, p) select v, p from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U1" as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0" g left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" x on x.v = g.a left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" y on y.v = g.b
) s
where s.a <> s.b;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0";

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U1";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U1";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HOOKS";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY" x left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY" y on y.v = x.p;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" where moved = 1;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED";

create table "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED" as
select n.key, coalesce(n_l.p, coalesce(n_f.p, n.hook)) as root from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES" n left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0" n_f on n_f.v = n.key left join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0" n_l on n_l.v = coalesce(n_f.p, n.hook);

-- begin transaction;

create or replace table "DEMO"."CDP"."CC_COMPONENTS" as
select i.node as node, c.node as component
from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED" r join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" i on i.key = r.key join "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS" c on c.key = r.root;

-- commit;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED" where 1 = 1;

select count(*) from "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED" where root = key;

-- begin transaction;

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_IDS";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_LINKS";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_NODES";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_FIRST";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F0";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_F1";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_BRIDGES";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U0";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_U1";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J0";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_J1";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HOOKS";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_HISTORY";

drop table if exists "DEMO"."CDP"."CC_COMPONENTS__CC<token>_RESOLVED";

-- commit;
