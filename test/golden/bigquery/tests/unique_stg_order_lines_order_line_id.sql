-- rows whose `order_line_id` appears more than once
select `order_line_id` as value, count(*) as occurrences
from `demo-project`.`analytics`.`stg_order_lines`
where `order_line_id` is not null
group by `order_line_id`
having count(*) > 1
