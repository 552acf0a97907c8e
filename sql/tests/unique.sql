-- rows whose {{column}} appears more than once
select {{column}} as value, count(*) as occurrences
from {{relation}}
where {{column}} is not null
group by {{column}}
having count(*) > 1
