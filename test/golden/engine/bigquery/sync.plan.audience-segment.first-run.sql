-- describe `demo-project`.`cdp`.`profiles`;

-- describe `demo-project`.`analytics`.`cart_abandoners`;

create schema if not exists `demo-project`.`cdp`;

-- describe `demo-project`.`cdp`.`sync_cart_abandoners_to_file_snapshot`;

create table `demo-project`.`cdp`.`sync_cart_abandoners_to_file_snapshot` as select `_cdp_key` as `_cdp_key`, `_cdp_hash` as `_cdp_hash`, cast(null as TIMESTAMP) as `_cdp_synced_at`, `email` as `email`, `first_name` as `first_name`, `last_product_viewed` as `last_product_viewed` from (select s.`profile_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`email` as STRING)) as STRING), ':', cast(s.`email` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`first_name` as STRING)) as STRING), ':', cast(s.`first_name` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_product_viewed` as STRING)) as STRING), ':', cast(s.`last_product_viewed` as STRING)), '~')))) as `_cdp_hash`, s.`email`, s.`first_name`, s.`last_product_viewed`
from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s where s.`profile_id` is not null) k where 1 = 0;

select count(*) as total, count(s.`profile_id`) as keyed from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s;

drop table if exists `demo-project`.`cdp`.`sync_cart_abandoners_to_file_plan`;

create table `demo-project`.`cdp`.`sync_cart_abandoners_to_file_plan` as
select row_number() over (order by case when `_cdp_op` = 'remove' then 0 when `_cdp_op` = 'change' then 1 else 2 end, `_cdp_key`) as `_cdp_seq`, x.*
from (
  select dd.`_cdp_op`, dd.`_cdp_key`, dd.`_cdp_hash`, case when dd.`_cdp_op` = 'remove' then t.`email` else s.`email` end as `email`, case when dd.`_cdp_op` = 'remove' then t.`first_name` else s.`first_name` end as `first_name`, case when dd.`_cdp_op` = 'remove' then t.`last_product_viewed` else s.`last_product_viewed` end as `last_product_viewed`
  from (
    select case when t.`_cdp_key` is null then 'add' when s.`_cdp_key` is null then 'remove' else 'change' end as `_cdp_op`,
      case when s.`_cdp_key` is null then t.`_cdp_key` else s.`_cdp_key` end as `_cdp_key`, case when s.`_cdp_key` is null then t.`_cdp_hash` else s.`_cdp_hash` end as `_cdp_hash`
    from (select `_cdp_key`, `_cdp_hash` from (select s.`profile_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`email` as STRING)) as STRING), ':', cast(s.`email` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`first_name` as STRING)) as STRING), ':', cast(s.`first_name` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_product_viewed` as STRING)) as STRING), ':', cast(s.`last_product_viewed` as STRING)), '~')))) as `_cdp_hash`, s.`email`, s.`first_name`, s.`last_product_viewed`
from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s where s.`profile_id` is not null) kk) s full outer join (select `_cdp_key`, `_cdp_hash` from (select `_cdp_key`, `_cdp_hash`, `email`, `first_name`, `last_product_viewed` from (select s.`profile_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`email` as STRING)) as STRING), ':', cast(s.`email` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`first_name` as STRING)) as STRING), ':', cast(s.`first_name` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_product_viewed` as STRING)) as STRING), ':', cast(s.`last_product_viewed` as STRING)), '~')))) as `_cdp_hash`, s.`email`, s.`first_name`, s.`last_product_viewed`
from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s where s.`profile_id` is not null) k where 1 = 0) ss) t on t.`_cdp_key` = s.`_cdp_key`
    where t.`_cdp_key` is null or s.`_cdp_key` is null or t.`_cdp_hash` is null or t.`_cdp_hash` <> s.`_cdp_hash`
  ) dd
  left join (select s.`profile_id` as `_cdp_key`, s.`email`, s.`first_name`, s.`last_product_viewed` from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s where s.`profile_id` is not null) s on s.`_cdp_key` = dd.`_cdp_key`
  left join (select `_cdp_key`, `_cdp_hash`, `email`, `first_name`, `last_product_viewed` from (select s.`profile_id` as `_cdp_key`, to_hex(md5(concat(coalesce(concat(cast(length(cast(s.`email` as STRING)) as STRING), ':', cast(s.`email` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`first_name` as STRING)) as STRING), ':', cast(s.`first_name` as STRING)), '~'), '|', coalesce(concat(cast(length(cast(s.`last_product_viewed` as STRING)) as STRING), ':', cast(s.`last_product_viewed` as STRING)), '~')))) as `_cdp_hash`, s.`email`, s.`first_name`, s.`last_product_viewed`
from (
select p.`profile_id`, p.`customer_id`, p.`email`, p.`phone`, p.`first_name`, p.`last_name`, p.`country`, p.`orders`, p.`lifetime_value`, p.`last_order_at`, p.`last_product_viewed`, p.`first_seen`, p.`last_seen`, m.`split_group`
from `demo-project`.`analytics`.`cart_abandoners` m join `demo-project`.`cdp`.`profiles` p on p.`profile_id` = m.`profile_id`
where m.`split_group` = 'target'
) s where s.`profile_id` is not null) k where 1 = 0) t on t.`_cdp_key` = dd.`_cdp_key`
) x;

select `_cdp_op` as op, count(*) as n, count(distinct `_cdp_key`) as k from `demo-project`.`cdp`.`sync_cart_abandoners_to_file_plan` group by `_cdp_op`;
