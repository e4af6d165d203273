{#- A case expression mapping a value to a sub-score with a list of [bound, score] pairs, best first.
    operator compares the value with each bound (<=, <, >=, >); `otherwise` is the score past the last bound. -#}
{% macro bucket_score(value, buckets, operator, otherwise=none) -%}
    case
        {%- for bucket in buckets %}
        when {{ value }} {{ operator }} {{ bucket[0] }} then {{ bucket[1] }}
        {%- endfor %}
        {%- if otherwise is not none %}
        else {{ otherwise }}
        {%- endif %}
    end
{%- endmacro %}
