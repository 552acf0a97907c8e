-- rows whose {{column}} is null
select *
from {{relation}}
where {{column}} is null
