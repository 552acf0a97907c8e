-- describe `demo-project`.`analytics`.`customer_summary`;

create schema if not exists `demo-project`.`cdp`;

-- describe `demo-project`.`cdp`.`sync_customers_to_crm_snapshot`;

create table `demo-project`.`cdp`.`sync_customers_to_crm_snapshot` as select `_cdp_key` as `_cdp_key`, `_cdp_hash` as `_cdp_hash`, cast(null as TIMESTAMP) as `_cdp_synced_at`, `country` as `country`, `last_order_at` as `last_order_at`, `orders` as `orders`, `revenue` as `revenue` from (select s.`customer_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`country` as STRING)) as STRING), ':', cast(s.`country` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_order_at` as STRING)) as STRING), ':', cast(s.`last_order_at` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`orders` as STRING)) as STRING), ':', cast(s.`orders` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`revenue` as STRING)) as STRING), ':', cast(s.`revenue` as STRING)), '~')))) as `_cdp_hash`, s.`country`, s.`last_order_at`, s.`orders`, s.`revenue`
from (
select * from `demo-project`.`analytics`.`customer_summary`
) s where s.`customer_id` is not null) k where 1 = 0;

select count(*) as total, count(s.`customer_id`) as keyed from (
select * from `demo-project`.`analytics`.`customer_summary`
) s;

select count(distinct k.`_cdp_key`) as n from (select s.`customer_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`country` as STRING)) as STRING), ':', cast(s.`country` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_order_at` as STRING)) as STRING), ':', cast(s.`last_order_at` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`orders` as STRING)) as STRING), ':', cast(s.`orders` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`revenue` as STRING)) as STRING), ':', cast(s.`revenue` as STRING)), '~')))) as `_cdp_hash`, s.`country`, s.`last_order_at`, s.`orders`, s.`revenue`
from (
select * from `demo-project`.`analytics`.`customer_summary`
) s where s.`customer_id` is not null) k;

insert into `demo-project`.`cdp`.`sync_customers_to_crm_snapshot` (`_cdp_key`, `_cdp_hash`, `_cdp_synced_at`, `country`, `last_order_at`, `orders`, `revenue`)
select k.`_cdp_key`, k.`_cdp_hash`, current_timestamp, k.`country`, k.`last_order_at`, k.`orders`, k.`revenue` from (select s.`customer_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`country` as STRING)) as STRING), ':', cast(s.`country` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_order_at` as STRING)) as STRING), ':', cast(s.`last_order_at` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`orders` as STRING)) as STRING), ':', cast(s.`orders` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`revenue` as STRING)) as STRING), ':', cast(s.`revenue` as STRING)), '~')))) as `_cdp_hash`, s.`country`, s.`last_order_at`, s.`orders`, s.`revenue`
from (
select * from `demo-project`.`analytics`.`customer_summary`
) s where s.`customer_id` is not null) k;

drop table if exists `demo-project`.`cdp`.`sync_customers_to_crm_plan`;

create table `demo-project`.`cdp`.`sync_customers_to_crm_plan` as select cast(0 as INT64) as `_cdp_seq`, cast(null as STRING) as `_cdp_op`, k.* from (select s.`customer_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`country` as STRING)) as STRING), ':', cast(s.`country` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_order_at` as STRING)) as STRING), ':', cast(s.`last_order_at` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`orders` as STRING)) as STRING), ':', cast(s.`orders` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`revenue` as STRING)) as STRING), ':', cast(s.`revenue` as STRING)), '~')))) as `_cdp_hash`, s.`country`, s.`last_order_at`, s.`orders`, s.`revenue`
from (
select * from `demo-project`.`analytics`.`customer_summary`
) s where s.`customer_id` is not null) k where 1 = 0;
