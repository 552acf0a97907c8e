-- describe "DEMO"."CDP"."PROFILES";

-- describe "DEMO"."ANALYTICS"."CART_ABANDONERS";

create schema if not exists "DEMO"."CDP";

-- describe "DEMO"."CDP"."SYNC_CART_ABANDONERS_TO_FILE_SNAPSHOT";

create table "DEMO"."CDP"."SYNC_CART_ABANDONERS_TO_FILE_SNAPSHOT" as select "_CDP_KEY" as "_CDP_KEY", "_CDP_HASH" as "_CDP_HASH", cast(null as timestamp_ntz) as "_CDP_SYNCED_AT", "EMAIL" as "EMAIL", "FIRST_NAME" as "FIRST_NAME", "LAST_PRODUCT_VIEWED" as "LAST_PRODUCT_VIEWED" from (select s."PROFILE_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."EMAIL" as varchar)) as varchar), ':', cast(s."EMAIL" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."FIRST_NAME" as varchar)) as varchar), ':', cast(s."FIRST_NAME" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_PRODUCT_VIEWED" as varchar)) as varchar), ':', cast(s."LAST_PRODUCT_VIEWED" as varchar)), '~'))) as "_CDP_HASH", s."EMAIL", s."FIRST_NAME", s."LAST_PRODUCT_VIEWED"
from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s where s."PROFILE_ID" is not null) k where 1 = 0;

select count(*) as total, count(s."PROFILE_ID") as keyed from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s;

drop table if exists "DEMO"."CDP"."SYNC_CART_ABANDONERS_TO_FILE_PLAN";

create table "DEMO"."CDP"."SYNC_CART_ABANDONERS_TO_FILE_PLAN" as
select row_number() over (order by case when "_CDP_OP" = 'remove' then 0 when "_CDP_OP" = 'change' then 1 else 2 end, "_CDP_KEY") as "_CDP_SEQ", x.*
from (
  select dd."_CDP_OP", dd."_CDP_KEY", dd."_CDP_HASH", case when dd."_CDP_OP" = 'remove' then t."EMAIL" else s."EMAIL" end as "EMAIL", case when dd."_CDP_OP" = 'remove' then t."FIRST_NAME" else s."FIRST_NAME" end as "FIRST_NAME", case when dd."_CDP_OP" = 'remove' then t."LAST_PRODUCT_VIEWED" else s."LAST_PRODUCT_VIEWED" end as "LAST_PRODUCT_VIEWED"
  from (
    select case when t."_CDP_KEY" is null then 'add' when s."_CDP_KEY" is null then 'remove' else 'change' end as "_CDP_OP",
      case when s."_CDP_KEY" is null then t."_CDP_KEY" else s."_CDP_KEY" end as "_CDP_KEY", case when s."_CDP_KEY" is null then t."_CDP_HASH" else s."_CDP_HASH" end as "_CDP_HASH"
    from (select "_CDP_KEY", "_CDP_HASH" from (select s."PROFILE_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."EMAIL" as varchar)) as varchar), ':', cast(s."EMAIL" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."FIRST_NAME" as varchar)) as varchar), ':', cast(s."FIRST_NAME" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_PRODUCT_VIEWED" as varchar)) as varchar), ':', cast(s."LAST_PRODUCT_VIEWED" as varchar)), '~'))) as "_CDP_HASH", s."EMAIL", s."FIRST_NAME", s."LAST_PRODUCT_VIEWED"
from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s where s."PROFILE_ID" is not null) kk) s full outer join (select "_CDP_KEY", "_CDP_HASH" from (select "_CDP_KEY", "_CDP_HASH", "EMAIL", "FIRST_NAME", "LAST_PRODUCT_VIEWED" from (select s."PROFILE_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."EMAIL" as varchar)) as varchar), ':', cast(s."EMAIL" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."FIRST_NAME" as varchar)) as varchar), ':', cast(s."FIRST_NAME" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_PRODUCT_VIEWED" as varchar)) as varchar), ':', cast(s."LAST_PRODUCT_VIEWED" as varchar)), '~'))) as "_CDP_HASH", s."EMAIL", s."FIRST_NAME", s."LAST_PRODUCT_VIEWED"
from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s where s."PROFILE_ID" is not null) k where 1 = 0) ss) t on t."_CDP_KEY" = s."_CDP_KEY"
    where t."_CDP_KEY" is null or s."_CDP_KEY" is null or t."_CDP_HASH" is null or t."_CDP_HASH" <> s."_CDP_HASH"
  ) dd
  left join (select s."PROFILE_ID" as "_CDP_KEY", s."EMAIL", s."FIRST_NAME", s."LAST_PRODUCT_VIEWED" from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s where s."PROFILE_ID" is not null) s on s."_CDP_KEY" = dd."_CDP_KEY"
  left join (select "_CDP_KEY", "_CDP_HASH", "EMAIL", "FIRST_NAME", "LAST_PRODUCT_VIEWED" from (select s."PROFILE_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."EMAIL" as varchar)) as varchar), ':', cast(s."EMAIL" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."FIRST_NAME" as varchar)) as varchar), ':', cast(s."FIRST_NAME" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_PRODUCT_VIEWED" as varchar)) as varchar), ':', cast(s."LAST_PRODUCT_VIEWED" as varchar)), '~'))) as "_CDP_HASH", s."EMAIL", s."FIRST_NAME", s."LAST_PRODUCT_VIEWED"
from (
select p."PROFILE_ID", p."CUSTOMER_ID", p."EMAIL", p."PHONE", p."FIRST_NAME", p."LAST_NAME", p."COUNTRY", p."ORDERS", p."LIFETIME_VALUE", p."LAST_ORDER_AT", p."LAST_PRODUCT_VIEWED", p."FIRST_SEEN", p."LAST_SEEN", m."SPLIT_GROUP"
from "DEMO"."ANALYTICS"."CART_ABANDONERS" m join "DEMO"."CDP"."PROFILES" p on p."PROFILE_ID" = m."PROFILE_ID"
where m."SPLIT_GROUP" = 'target'
) s where s."PROFILE_ID" is not null) k where 1 = 0) t on t."_CDP_KEY" = dd."_CDP_KEY"
) x;

select "_CDP_OP" as op, count(*) as n, count(distinct "_CDP_KEY") as k from "DEMO"."CDP"."SYNC_CART_ABANDONERS_TO_FILE_PLAN" group by "_CDP_OP";
