-- values of {{column}} with no matching {{field}} in {{parent}}
select child.{{column}} as value
from {{relation}} as child
left join {{parent}} as parent
  on child.{{column}} = parent.{{field}}
where child.{{column}} is not null
  and parent.{{field}} is null
