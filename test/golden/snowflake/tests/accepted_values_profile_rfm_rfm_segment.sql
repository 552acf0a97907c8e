-- values of "RFM_SEGMENT" outside the accepted list
select "RFM_SEGMENT" as value, count(*) as occurrences
from "DEMO"."ANALYTICS"."PROFILE_RFM"
where "RFM_SEGMENT" is not null
  and "RFM_SEGMENT" not in ('champions', 'loyal', 'promising', 'needs_attention', 'at_risk', 'hibernating')
group by "RFM_SEGMENT"
