-- describe "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY";

create schema if not exists "DEMO"."CDP";

-- describe "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT";

create table "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_TYPES" as select * from (select s."CUSTOMER_ID" as "_CDP_KEY", md5(concat(coalesce(concat(cast(length(cast(s."COUNTRY" as varchar)) as varchar), ':', cast(s."COUNTRY" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."LAST_ORDER_AT" as varchar)) as varchar), ':', cast(s."LAST_ORDER_AT" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."ORDERS" as varchar)) as varchar), ':', cast(s."ORDERS" as varchar)), '~'), '|', coalesce(concat(cast(length(cast(s."REVENUE" as varchar)) as varchar), ':', cast(s."REVENUE" as varchar)), '~'))) as "_CDP_HASH", s."COUNTRY", s."LAST_ORDER_AT", s."ORDERS", s."REVENUE"
from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s where s."CUSTOMER_ID" is not null) k where 1 = 0;

-- describe "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_TYPES";

drop table if exists "DEMO"."CDP"."_SYNC_CUSTOMERS_TO_CRM_<token>_TYPES";

select count(*) as total, count(s."CUSTOMER_ID") as keyed from (
select * from "DEMO"."ANALYTICS"."CUSTOMER_SUMMARY"
) s;

drop table if exists "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN";

create table "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" as
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

select "_CDP_OP" as op, count(*) as n, count(distinct "_CDP_KEY") as k from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" group by "_CDP_OP";

select count(*) as n from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ss;

create table if not exists "DEMO"."CDP"."SYNC_CHECKPOINTS" ("SYNC" varchar, "RUN_ID" varchar, "SEQ" bigint);

-- begin transaction;

delete from "DEMO"."CDP"."SYNC_CHECKPOINTS" where sync = 'customers_to_crm';

insert into "DEMO"."CDP"."SYNC_CHECKPOINTS" (sync, run_id, seq) values ('customers_to_crm', '<sync_run_id>', 0);

-- commit;

select seq from "DEMO"."CDP"."SYNC_CHECKPOINTS" where sync = ? and run_id = ?
-- params: ["customers_to_crm","<sync_run_id>"];

select * from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" where "_CDP_SEQ" > ? and "_CDP_SEQ" <= ? order by "_CDP_SEQ"
-- params: [0,2];

-- begin transaction;

delete from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" where "_CDP_KEY" in (select "_CDP_KEY" from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" where "_CDP_SEQ" > 0 and "_CDP_SEQ" <= 2 and "_CDP_OP" in ('change', 'remove'));

insert into "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ("_CDP_KEY", "_CDP_HASH", "_CDP_SYNCED_AT", "COUNTRY", "LAST_ORDER_AT", "ORDERS", "REVENUE")
select "_CDP_KEY", "_CDP_HASH", current_timestamp, "COUNTRY", "LAST_ORDER_AT", "ORDERS", "REVENUE" from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" where "_CDP_SEQ" > 0 and "_CDP_SEQ" <= 2 and "_CDP_OP" in ('add', 'change');

update "DEMO"."CDP"."SYNC_CHECKPOINTS" set seq = 2 where sync = 'customers_to_crm';

-- commit;

select * from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" where "_CDP_SEQ" > ? and "_CDP_SEQ" <= ? order by "_CDP_SEQ"
-- params: [2,4];

-- begin transaction;

insert into "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_SNAPSHOT" ("_CDP_KEY", "_CDP_HASH", "_CDP_SYNCED_AT", "COUNTRY", "LAST_ORDER_AT", "ORDERS", "REVENUE")
select "_CDP_KEY", "_CDP_HASH", current_timestamp, "COUNTRY", "LAST_ORDER_AT", "ORDERS", "REVENUE" from "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN" where "_CDP_SEQ" > 2 and "_CDP_SEQ" <= 3 and "_CDP_OP" in ('add', 'change');

update "DEMO"."CDP"."SYNC_CHECKPOINTS" set seq = 3 where sync = 'customers_to_crm';

-- commit;

drop table if exists "DEMO"."CDP"."SYNC_CUSTOMERS_TO_CRM_PLAN";

create table if not exists "DEMO"."CDP"."SYNC_LOG" ("RUN_ID" varchar, "SYNC" varchar, "DESTINATION" varchar, "DESTINATION_TYPE" varchar, "ACTION" varchar, "MODE" varchar, "TRIGGER" varchar, "STATUS" varchar, "STARTED_AT" timestamp_ntz, "FINISHED_AT" timestamp_ntz, "PLANNED" bigint, "ADDED" bigint, "CHANGED" bigint, "REMOVED" bigint, "UNCHANGED" bigint, "SUCCEEDED" bigint, "FAILED" bigint, "ERROR" varchar);

insert into "DEMO"."CDP"."SYNC_LOG" ("RUN_ID", "SYNC", "DESTINATION", "DESTINATION_TYPE", "ACTION", "MODE", "TRIGGER", "STATUS", "STARTED_AT", "FINISHED_AT", "PLANNED", "ADDED", "CHANGED", "REMOVED", "UNCHANGED", "SUCCEEDED", "FAILED", "ERROR") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
-- params: ["<sync_run_id>","customers_to_crm","recorder","recording","write","mirror","manual","succeeded","2010-12-24T00:00:00.000Z","2010-12-24T00:00:00.000Z",3,1,1,1,1,3,0,null];
