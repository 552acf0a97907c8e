-- describe "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY";

create schema if not exists "DEMO"."CDP";

-- describe "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT";

create table "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" as select "_CDP_KEY" as "_CDP_KEY", "_CDP_HASH" as "_CDP_HASH", cast(null as timestamp_ntz) as "_CDP_SYNCED_AT", "COUNTRY" as "COUNTRY", "LAST_ORDER_AT" as "LAST_ORDER_AT", "ORDERS" as "ORDERS", "REVENUE" as "REVENUE" from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) k where 1 = 0;

select count(*) as total, count(s."CUSTOMER_ID") as keyed from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s;

select count(distinct k."_CDP_KEY") as n from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) k;

insert into "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ("_CDP_KEY", "_CDP_HASH", "_CDP_SYNCED_AT", "COUNTRY", "LAST_ORDER_AT", "ORDERS", "REVENUE")
select k."_CDP_KEY", k."_CDP_HASH", current_timestamp, k."COUNTRY", k."LAST_ORDER_AT", k."ORDERS", k."REVENUE" from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) k;

drop table if exists "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN";

create table "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" as select cast(0 as bigint) as "_CDP_SEQ", cast(null as varchar) as "_CDP_OP", k.* from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) k where 1 = 0;
