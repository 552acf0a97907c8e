-- Churn risk of every known customer (a profile with a customer id), from recency alone: the days from
-- their last activity (an order, or a visit to the website) to vars.as_of, against two thresholds:
-- low below churn_risk_medium_after_days, high from churn_risk_high_after_days, medium between.
with profiles as (
  select * from {{source "cdp" "profiles"}}
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
    {{datediff "day" "last_active_at" (cast (literal (var "as_of")) "timestamp")}} as days_since_last_activity
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
      when days_since_last_activity >= {{var "churn_risk_high_after_days"}} then 'high'
      when days_since_last_activity >= {{var "churn_risk_medium_after_days"}} then 'medium'
      else 'low'
    end as churn_risk
  from measured
)

select * from final
