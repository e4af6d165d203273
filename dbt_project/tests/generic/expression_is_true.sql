{#- Fails for every row where the SQL expression is not true (false or null). Use on a model, or on a column
    (the expression then follows the column name, e.g. `>= 0`). -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(
    {%- if column_name is not none %} {{ column_name }} {% endif %}{{ expression }},
    false
)

{% endtest %}
