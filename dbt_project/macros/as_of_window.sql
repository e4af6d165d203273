{#- Point in time for dated facts (metrics.md): a fact counts for T only when it happened before the end of T's
    day, and "in the N days before T" means from T - N days (00:00 UTC) to the end of T's day. -#}
{% macro before_end_of_as_of(column) -%}
    ({{ column }} < {{ dbt.dateadd('day', 1, as_of_timestamp()) }})
{%- endmacro %}

{#- A record a source created by the end of T's day (a customer exists at T only if some source knew them by
    then). A record without a creation time cannot be dated and counts as known. -#}
{% macro known_by_end_of_as_of(column) -%}
    ({{ column }} is null or {{ before_end_of_as_of(column) }})
{%- endmacro %}

{% macro in_days_before_as_of(column, days, until_days=none) -%}
    ({{ column }} >= {{ dbt.dateadd('day', -1 * days, as_of_timestamp()) }}
    and {% if until_days is none -%}
        {{ before_end_of_as_of(column) }}
    {%- else -%}
        {{ column }} < {{ dbt.dateadd('day', -1 * until_days, as_of_timestamp()) }}
    {%- endif %})
{%- endmacro %}
