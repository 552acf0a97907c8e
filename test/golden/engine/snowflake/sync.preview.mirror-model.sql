-- describe "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY";

create schema if not exists "DEMO"."CDP";

-- describe "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT";

select count(*) as total, count(s."CUSTOMER_ID") as keyed from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s;

drop table if exists "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN";

create table "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN" as
select row_number() over (order by case when "_CDP_OP" = 'remove' then 0 when "_CDP_OP" = 'change' then 1 else 2 end, "_CDP_KEY") as "_CDP_SEQ", x.*
from (
  select dd."_CDP_OP", dd."_CDP_KEY", dd."_CDP_HASH", case when dd."_CDP_OP" = 'remove' then t."COUNTRY" else s."COUNTRY" end as "COUNTRY", case when dd."_CDP_OP" = 'remove' then t."LAST_ORDER_AT" else s."LAST_ORDER_AT" end as "LAST_ORDER_AT", case when dd."_CDP_OP" = 'remove' then t."ORDERS" else s."ORDERS" end as "ORDERS", case when dd."_CDP_OP" = 'remove' then t."REVENUE" else s."REVENUE" end as "REVENUE"
  from (
    select case when t."_CDP_KEY" is null then 'add' when s."_CDP_KEY" is null then 'remove' else 'change' end as "_CDP_OP",
      case when s."_CDP_KEY" is null then t."_CDP_KEY" else s."_CDP_KEY" end as "_CDP_KEY", case when s."_CDP_KEY" is null then t."_CDP_HASH" else s."_CDP_HASH" end as "_CDP_HASH"
    from (select "_CDP_KEY", "_CDP_HASH" from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) kk) s full outer join (select "_CDP_KEY", "_CDP_HASH" from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ss) t on t."_CDP_KEY" = s."_CDP_KEY"
    where t."_CDP_KEY" is null or s."_CDP_KEY" is null or t."_CDP_HASH" is null or t."_CDP_HASH" <> s."_CDP_HASH"
  ) dd
  left join (select s."CUSTOMER_ID" as "_CDP_KEY", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE" from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) s on s."_CDP_KEY" = dd."_CDP_KEY"
  left join "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" t on t."_CDP_KEY" = dd."_CDP_KEY"
) x;

select "_CDP_OP" as op, count(*) as n, count(distinct "_CDP_KEY") as k from "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN" group by "_CDP_OP";

select count(*) as n from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ss;

select * from "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN" where "_CDP_OP" = ? order by "_CDP_SEQ" limit 2
-- params: ["add"];

select * from "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN" where "_CDP_OP" = ? order by "_CDP_SEQ" limit 2
-- params: ["change"];

select * from "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN" where "_CDP_OP" = ? order by "_CDP_SEQ" limit 2
-- params: ["remove"];

drop table if exists "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_PLAN";
