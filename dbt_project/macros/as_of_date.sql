{#- The as-of date T of every metric, as a SQL date literal. var `as_of` (YYYY-MM-DD), else env GTM_AS_OF,
    else today in UTC. This is the only place that reads the clock. Read only when models execute: while
    dbt parses, a placeholder stands in, so a new date (gtm sets GTM_AS_OF) keeps partial parsing (an
    env_var read at parse time would make dbt re-parse every model using it). -#}
{% macro as_of_date_string() -%}
    {%- set configured = var('as_of', none) or (env_var('GTM_AS_OF', '') if execute else '1970-01-01') -%}
    {%- if configured -%}
        {%- set parsed = modules.datetime.datetime.strptime(configured | string | trim, '%Y-%m-%d') -%}
        {{- parsed.strftime('%Y-%m-%d') -}}
    {%- else -%}
        {{- modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d') -}}
    {%- endif -%}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_string() }}' as date)
{%- endmacro %}

{#- T as a timestamp: 00:00 UTC of the as-of date. -#}
{% macro as_of_timestamp() -%}
    cast('{{ as_of_date_string() }} 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The earliest snapshot a build for T compares with: var history_lookback_days before T. A snapshot built
    for a much earlier date (a wrong --as-of) is never "the previous" one of a later build. -#}
{% macro history_window_start() -%}
    {{ dbt.dateadd('day', -1 * var('history_lookback_days'), as_of_date()) }}
{%- endmacro %}
