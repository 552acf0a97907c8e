-- describe "analytics"."customer_summary";

create schema if not exists "cdp";

-- describe "cdp"."sync_customers_to_crm_snapshot";

describe select s."customer_id" as "_cdp_key", hash(s."country", s."last_order_at", s."orders", s."revenue") as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null;

select count(*) as total, count(s."customer_id") as keyed from (
select * from "analytics"."customer_summary"
) s;

drop table if exists "cdp"."sync_customers_to_crm_plan";

create table "cdp"."sync_customers_to_crm_plan" as
select row_number() over (order by case when "_cdp_op" in ('remove') then 3 when "_cdp_op" = 'remove' then 0 when "_cdp_op" = 'change' then 1 else 2 end, "_cdp_key") as "_cdp_seq", x.*
from (
  select dd."_cdp_op", dd."_cdp_key", dd."_cdp_hash", case when dd."_cdp_op" = 'remove' then t."country" else s."country" end as "country", case when dd."_cdp_op" = 'remove' then t."last_order_at" else s."last_order_at" end as "last_order_at", case when dd."_cdp_op" = 'remove' then t."orders" else s."orders" end as "orders", case when dd."_cdp_op" = 'remove' then t."revenue" else s."revenue" end as "revenue"
  from (
    select case when t."_cdp_key" is null then 'add' when s."_cdp_key" is null then 'remove' else 'change' end as "_cdp_op",
      case when s."_cdp_key" is null then t."_cdp_key" else s."_cdp_key" end as "_cdp_key", case when s."_cdp_key" is null then t."_cdp_hash" else s."_cdp_hash" end as "_cdp_hash"
    from (select "_cdp_key", "_cdp_hash" from (select s."customer_id" as "_cdp_key", hash(s."country", s."last_order_at", s."orders", s."revenue") as "_cdp_hash", s."country", s."last_order_at", s."orders", s."revenue"
from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) kk) s full outer join (select "_cdp_key", "_cdp_hash" from "cdp"."sync_customers_to_crm_snapshot" ss) t on t."_cdp_key" = s."_cdp_key"
    where t."_cdp_key" is null or s."_cdp_key" is null or t."_cdp_hash" is null or t."_cdp_hash" <> s."_cdp_hash"
  ) dd
  left join (select s."customer_id" as "_cdp_key", s."country", s."last_order_at", s."orders", s."revenue" from (
select * from "analytics"."customer_summary"
) s where s."customer_id" is not null) s on s."_cdp_key" = dd."_cdp_key"
  left join "cdp"."sync_customers_to_crm_snapshot" t on t."_cdp_key" = dd."_cdp_key"
) x;

select "_cdp_op" as op, count(*) as n, count(distinct "_cdp_key") as k from "cdp"."sync_customers_to_crm_plan" group by "_cdp_op";

select count(*) as n from "cdp"."sync_customers_to_crm_snapshot" ss;

-- begin transaction;

delete from "cdp"."sync_customers_to_crm_snapshot" where "_cdp_key" in (select "_cdp_key" from "cdp"."sync_customers_to_crm_plan" where "_cdp_op" = 'remove');

delete from "cdp"."sync_customers_to_crm_plan" where "_cdp_op" in ('remove');

-- commit;
