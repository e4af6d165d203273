{#- The trend label of a score change (metrics.md, Health trend): `insufficient_history` when no snapshot
    stands in for the reference date, `unknown` when there is one but the score is NA on either date,
    `improving` / `declining` when the change is at least var health_trend_points up / down, else `stable`. -#}
{% macro health_trend_label(delta, reference_date) -%}
    case
        when {{ reference_date }} is null then 'insufficient_history'
        when {{ delta }} is null then 'unknown'
        when {{ delta }} >= {{ var('health_trend_points') }} then 'improving'
        when {{ delta }} <= -{{ var('health_trend_points') }} then 'declining'
        else 'stable'
    end
{%- endmacro %}
