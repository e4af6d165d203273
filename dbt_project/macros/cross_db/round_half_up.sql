{#- Round half away from zero (half-up for the non-negative amounts we round) to `scale` places, as a
    decimal. The value is first cast to a wide decimal, which absorbs binary floating-point noise (DuckDB
    divides decimals into doubles), so both warehouses give the same cents. Postgres rounds numeric half away
    from zero (its float round() is half-to-even, hence the cast); DuckDB rounds decimals the same way. -#}
{% macro round_half_up(expression, scale=0) -%}
    {{ return(adapter.dispatch('round_half_up', 'gtm')(expression, scale)) }}
{%- endmacro %}

{% macro default__round_half_up(expression, scale=0) -%}
    round(cast({{ expression }} as decimal(38, 10)), {{ scale }})
{%- endmacro %}

{% macro duckdb__round_half_up(expression, scale=0) -%}
    round(cast({{ expression }} as decimal(38, 10)), {{ scale }})
{%- endmacro %}

{% macro postgres__round_half_up(expression, scale=0) -%}
    round(cast({{ expression }} as numeric(38, 10)), {{ scale }})
{%- endmacro %}
