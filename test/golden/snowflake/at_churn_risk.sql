-- A SQL segment (config: segment: true in segments.yml): customers worth keeping (monetary score 3 or
-- more of 5 in profile_rfm) whose churn risk is high (profile_churn_risk: no order or visit for 14 days).
select rfm.profile_id
from "DEMO"."ANALYTICS"."PROFILE_RFM" rfm
join "DEMO"."ANALYTICS"."PROFILE_CHURN_RISK" risk on risk.profile_id = rfm.profile_id
where risk.churn_risk = 'high'
  and rfm.monetary_score >= 3
