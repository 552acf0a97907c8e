-- Churn risk of every known customer (a profile with a customer id), from recency alone: the days from
-- their last activity (an order, or a visit to the website) to vars.as_of, against two thresholds:
-- low below churn_risk_medium_after_days, high from churn_risk_high_after_days, medium between.
with profiles as (
  select * from "cdp"."profiles"
),

customers as (
  select
    profile_id,
    customer_id,
    last_order_at,
    last_seen_at as last_visit_at,
    -- the later of the two; greatest() would not do: it is null when either is on some warehouses
    case
      when last_seen_at is null or last_order_at > last_seen_at then last_order_at
      else last_seen_at
    end as last_active_at
  from profiles
  where customer_id is not null
),

measured as (
  select
    customers.*,
    (cast(cast('2010-12-24' as timestamp) as date) - cast(last_active_at as date)) as days_since_last_activity
  from customers
),

final as (
  select
    profile_id,
    customer_id,
    last_order_at,
    last_visit_at,
    last_active_at,
    days_since_last_activity,
    case
      when days_since_last_activity is null then 'high'
      when days_since_last_activity >= 14 then 'high'
      when days_since_last_activity >= 7 then 'medium'
      else 'low'
    end as churn_risk
  from measured
)

select * from final
