-- RFM scores of every profile that ordered: recency (days from the last order to vars.as_of),
-- frequency (orders) and monetary value (net revenue), each 1 (lowest fifth) to 5 (highest fifth),
-- and the segment they put the customer in. Chen, Sain and Guo segmented this retailer's customers
-- by RFM (the data set's paper, seeds/online_retail/README.md); this is the textbook quintile form.
with profiles as (
  select * from "DEMO"."CDP"."PROFILES"
),

customers as (
  select
    profile_id,
    customer_id,
    orders,
    lifetime_value,
    last_order_at,
    datediff(day, last_order_at, cast('2010-12-24' as timestamp_ntz)) as recency_days
  from profiles
  where orders > 0
),

scored as (
  -- ntile cuts the ordered rows into five equal groups; equal values are ordered by the other
  -- measures (then profile_id), so a tie may straddle two neighbouring scores
  select
    customers.*,
    ntile(5) over (order by recency_days desc, orders, lifetime_value, profile_id) as recency_score,
    ntile(5) over (order by orders, lifetime_value, recency_days desc, profile_id) as frequency_score,
    ntile(5) over (order by lifetime_value, orders, recency_days desc, profile_id) as monetary_score
  from customers
),

final as (
  select
    profile_id,
    customer_id,
    last_order_at,
    recency_days,
    orders as frequency,
    lifetime_value as monetary,
    recency_score,
    frequency_score,
    monetary_score,
    recency_score * 100 + frequency_score * 10 + monetary_score as rfm_score,
    case
      when recency_score >= 4 and frequency_score >= 4 and monetary_score >= 4 then 'champions'
      when recency_score >= 3 and frequency_score >= 3 then 'loyal'
      when recency_score >= 4 then 'promising'
      when recency_score <= 2 and frequency_score >= 3 then 'at_risk'
      when recency_score <= 2 then 'hibernating'
      else 'needs_attention'
    end as rfm_segment
  from scored
)

select * from final
