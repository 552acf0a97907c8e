-- describe "analytics"."customer_summary";

create schema if not exists "cdp";

-- describe "cdp"."sync_customers_to_crm_snapshot";

create table "cdp"."sync_customers_to_crm_snapshot" as select "_cdp_key" as "_cdp_key", "_cdp_hash" as "_cdp_hash", cast(null as timestamp) as "_cdp_synced_at", "country" as "country", "last_order_at" as "last_order_at", "orders" as "orders", "revenue" as "revenue" from (select s."customer_id" as "_cdp_key", md5(concat(coalesce(concat(cast(length(cast(s."country" as text)) as text), ':', cast(s."country" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."last_order_at" as text)) as text), ':', cast(s."last_order_at" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."orders" as text)) as text), ':', cast(s."orders" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."revenue" as text)) as text), ':', cast(s."revenue" as text)), '~'))) as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) k where 1 = 0;

select count(*) as total, count(s."customer_id") as keyed from (
select * from "analytics"."customer_summary"
) s;

select count(distinct k."_cdp_key") as n from (select s."customer_id" as "_cdp_key", md5(concat(coalesce(concat(cast(length(cast(s."country" as text)) as text), ':', cast(s."country" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."last_order_at" as text)) as text), ':', cast(s."last_order_at" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."orders" as text)) as text), ':', cast(s."orders" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."revenue" as text)) as text), ':', cast(s."revenue" as text)), '~'))) as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) k;

insert into "cdp"."sync_customers_to_crm_snapshot" ("_cdp_key", "_cdp_hash", "_cdp_synced_at", "country", "last_order_at", "orders", "revenue")
select k."_cdp_key", k."_cdp_hash", current_timestamp, k."country", k."last_order_at", k."orders", k."revenue" from (select s."customer_id" as "_cdp_key", md5(concat(coalesce(concat(cast(length(cast(s."country" as text)) as text), ':', cast(s."country" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."last_order_at" as text)) as text), ':', cast(s."last_order_at" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."orders" as text)) as text), ':', cast(s."orders" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."revenue" as text)) as text), ':', cast(s."revenue" as text)), '~'))) as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) k;

drop table if exists "cdp"."sync_customers_to_crm_plan" cascade;

create table "cdp"."sync_customers_to_crm_plan" as select cast(0 as bigint) as "_cdp_seq", cast(null as text) as "_cdp_op", k.* from (select s."customer_id" as "_cdp_key", md5(concat(coalesce(concat(cast(length(cast(s."country" as text)) as text), ':', cast(s."country" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."last_order_at" as text)) as text), ':', cast(s."last_order_at" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."orders" as text)) as text), ':', cast(s."orders" as text)), '~'), '|', coalesce(concat(cast(length(cast(s."revenue" as text)) as text), ':', cast(s."revenue" as text)), '~'))) as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) k where 1 = 0;
