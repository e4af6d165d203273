{#- Unix epoch seconds (integer or fractional) -> UTC timestamp without time zone. -#}
{% macro epoch_to_timestamp(epoch_seconds) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'gtm')(epoch_seconds)) }}
{%- endmacro %}

{% macro default__epoch_to_timestamp(epoch_seconds) -%}
    {{ dbt.dateadd('second', epoch_seconds, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{% macro duckdb__epoch_to_timestamp(epoch_seconds) -%}
    make_timestamp(cast(round(cast({{ epoch_seconds }} as double) * 1000000) as bigint))
{%- endmacro %}

{% macro postgres__epoch_to_timestamp(epoch_seconds) -%}
    (to_timestamp(cast({{ epoch_seconds }} as double precision)) at time zone 'UTC')
{%- endmacro %}
