{#- timestamp with time zone -> the same instant as a UTC timestamp without time zone. -#}
{% macro to_utc_timestamp(timestamp_tz) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'gtm')(timestamp_tz)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(timestamp_tz) -%}
    cast(({{ timestamp_tz }} at time zone 'UTC') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(timestamp_tz) -%}
    make_timestamp(epoch_us(cast({{ timestamp_tz }} as timestamp with time zone)))
{%- endmacro %}

{% macro postgres__to_utc_timestamp(timestamp_tz) -%}
    (cast({{ timestamp_tz }} as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}
