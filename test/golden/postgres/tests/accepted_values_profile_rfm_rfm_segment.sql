-- values of "rfm_segment" outside the accepted list
select "rfm_segment" as value, count(*) as occurrences
from "analytics"."profile_rfm"
where "rfm_segment" is not null
  and "rfm_segment" not in ('champions', 'loyal', 'promising', 'needs_attention', 'at_risk', 'hibernating')
group by "rfm_segment"
