-- values of {{column}} outside the accepted list
select {{column}} as value, count(*) as occurrences
from {{relation}}
where {{column}} is not null
  and {{column}} not in ({{values}})
group by {{column}}
