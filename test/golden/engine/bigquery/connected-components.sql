drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_ids`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_ids` as
select `node` as node, row_number() over (order by `node`) as key
from (select `a` as `node` from `demo-project`.`cdp`.`cc_edges` where `a` is not null union distinct select `b` from `demo-project`.`cdp`.`cc_edges` where `b` is not null) n;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_links`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_links` as
select x.key as ka, y.key as kb from `demo-project`.`cdp`.`cc_edges` g join `demo-project`.`cdp`.`cc_components__cc<token>_ids` x on x.node = g.`a` join `demo-project`.`cdp`.`cc_components__cc<token>_ids` y on y.node = g.`b`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_nodes`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_nodes` as
select n.key, coalesce(min(l.m), n.key) as hook, coalesce(max(l.m), n.key) as hook_max
from `demo-project`.`cdp`.`cc_components__cc<token>_ids` n left join (
  select ka as k, least(ka, kb) as m from `demo-project`.`cdp`.`cc_components__cc<token>_links`
  union all
  select kb, least(ka, kb) from `demo-project`.`cdp`.`cc_components__cc<token>_links` where kb <> ka
) l on l.k = n.key
group by n.key;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_nodes`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_first` as
select x.key as v, y.hook as p, case when y.hook < y.key then 1 else 0 end as moved
from `demo-project`.`cdp`.`cc_components__cc<token>_nodes` x join `demo-project`.`cdp`.`cc_components__cc<token>_nodes` y on y.key = x.hook
where x.hook < x.key;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_first` where moved = 1;

create table `demo-project`.`cdp`.`cc_components__cc<token>_f0` as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from `demo-project`.`cdp`.`cc_components__cc<token>_first` x left join `demo-project`.`cdp`.`cc_components__cc<token>_first` y on y.v = x.p;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_f0` where moved = 1;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_first`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_bridges` as
select key from `demo-project`.`cdp`.`cc_components__cc<token>_nodes` where hook <> hook_max;

create table `demo-project`.`cdp`.`cc_components__cc<token>_u0` as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(fx.p, x.hook) as a, coalesce(fy.p, y.hook) as b
  from (select ka, kb from `demo-project`.`cdp`.`cc_components__cc<token>_links` where ka in (select key from `demo-project`.`cdp`.`cc_components__cc<token>_bridges`) or kb in (select key from `demo-project`.`cdp`.`cc_components__cc<token>_bridges`)) e
  join `demo-project`.`cdp`.`cc_components__cc<token>_nodes` x on x.key = e.ka join `demo-project`.`cdp`.`cc_components__cc<token>_nodes` y on y.key = e.kb left join `demo-project`.`cdp`.`cc_components__cc<token>_f0` fx on fx.v = x.key left join `demo-project`.`cdp`.`cc_components__cc<token>_f0` fy on fy.v = y.key
) s
where s.a <> s.b;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_bridges`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_history` as
select a as v, b as p from `demo-project`.`cdp`.`cc_components__cc<token>_u0` where 1 = 0;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_u0`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_hooks` as
select b as v, min(a) as p from `demo-project`.`cdp`.`cc_components__cc<token>_u0` group by b;

create table `demo-project`.`cdp`.`cc_components__cc<token>_j0` as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from `demo-project`.`cdp`.`cc_components__cc<token>_hooks` x left join `demo-project`.`cdp`.`cc_components__cc<token>_hooks` y on y.v = x.p;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_j0` where moved = 1;

insert into `demo-project`.`cdp`.`cc_components__cc<token>_history` (v, p) select v, p from `demo-project`.`cdp`.`cc_components__cc<token>_j0`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_u1` as
select distinct least(s.a, s.b) as a, greatest(s.a, s.b) as b
from (
  select coalesce(x.p, g.a) as a, coalesce(y.p, g.b) as b
  from `demo-project`.`cdp`.`cc_components__cc<token>_u0` g left join `demo-project`.`cdp`.`cc_components__cc<token>_j0` x on x.v = g.a left join `demo-project`.`cdp`.`cc_components__cc<token>_j0` y on y.v = g.b
) s
where s.a <> s.b;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_u0`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_j0`;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_u1`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_u1`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_hooks`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_j0`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_j0` as
select x.v as v, coalesce(y.p, x.p) as p, case when y.v is null then 0 else 1 end as moved
from `demo-project`.`cdp`.`cc_components__cc<token>_history` x left join `demo-project`.`cdp`.`cc_components__cc<token>_history` y on y.v = x.p;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_j0` where moved = 1;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_history`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_resolved`;

create table `demo-project`.`cdp`.`cc_components__cc<token>_resolved` as
select n.key, coalesce(n_l.p, coalesce(n_f.p, n.hook)) as root from `demo-project`.`cdp`.`cc_components__cc<token>_nodes` n left join `demo-project`.`cdp`.`cc_components__cc<token>_f0` n_f on n_f.v = n.key left join `demo-project`.`cdp`.`cc_components__cc<token>_j0` n_l on n_l.v = coalesce(n_f.p, n.hook);

-- begin transaction;

create or replace table `demo-project`.`cdp`.`cc_components` as
select i.node as node, c.node as component
from `demo-project`.`cdp`.`cc_components__cc<token>_resolved` r join `demo-project`.`cdp`.`cc_components__cc<token>_ids` i on i.key = r.key join `demo-project`.`cdp`.`cc_components__cc<token>_ids` c on c.key = r.root;

-- commit;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_resolved` where 1 = 1;

select count(*) from `demo-project`.`cdp`.`cc_components__cc<token>_resolved` where root = key;

-- begin transaction;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_ids`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_links`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_nodes`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_first`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_f0`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_f1`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_bridges`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_u0`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_u1`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_j0`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_j1`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_hooks`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_history`;

drop table if exists `demo-project`.`cdp`.`cc_components__cc<token>_resolved`;

-- commit;
