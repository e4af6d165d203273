{#- Monthly factor of a recurring price billed every `interval_count` `interval`s (metrics.md, Revenue):
    month 1/n, year 1/(12n), week 52/(12n), day 365/(12n); null for an unknown interval. -#}
{% macro monthly_factor(interval, interval_count) -%}
    (case {{ interval }}
        when 'month' then 1.0
        when 'year' then 1.0 / 12
        when 'week' then 52.0 / 12
        when 'day' then 365.0 / 12
    end / coalesce(nullif({{ interval_count }}, 0), 1))
{%- endmacro %}

{#- The earlier of two dates, ignoring a null second one. -#}
{% macro least_date(first, second) -%}
    case when {{ second }} is not null and {{ second }} < {{ first }} then {{ second }} else {{ first }} end
{%- endmacro %}

{#- The rank of a subscription status in var `subscription_status_order` (1 = best: active); a status not
    in the list ranks after all of them. -#}
{% macro subscription_status_rank(column) -%}
    {%- set status_order = var('subscription_status_order') -%}
    case
        {%- for status in status_order %}
        when {{ column }} = '{{ status }}' then {{ loop.index }}
        {%- endfor %}
        else {{ status_order | length + 1 }}
    end
{%- endmacro %}
