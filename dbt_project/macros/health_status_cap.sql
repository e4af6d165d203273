{#- Rank of a signal severity (critical 4 > high 3 > medium 2 > low 1); unknown severities rank as low. -#}
{% macro severity_rank(column) -%}
    case {{ column }}
        when 'critical' then 4
        when 'high' then 3
        when 'medium' then 2
        else 1
    end
{%- endmacro %}

{#- The status cap of metrics.md (Health score): a subquery of (email_key, cap_signal), one row per customer of
    `from_relation` who has a risk signal whose severity (signal_actions seed) is in var
    `health_status_cap_severities`; cap_signal is the most severe one, ties by signal name. `signals` limits
    the signals evaluated (default: all of risk_signal_conditions). -#}
{% macro health_status_cap_signals(from_relation, signals=none) -%}
    {%- set severities = var('health_status_cap_severities') -%}
    {%- set conditions = risk_signal_conditions() -%}
    {%- set names = signals if signals is not none else conditions.keys() | list -%}
    (
        select
            ranked.email_key,
            ranked.signal as cap_signal

        from (
            select
                candidates.email_key,
                candidates.signal,
                row_number() over (
                    partition by candidates.email_key
                    order by {{ severity_rank('signal_actions.severity') }} desc, candidates.signal asc
                ) as cap_rank

            from (
                {%- for name in names %}
                select
                    email_key,
                    '{{ name }}' as signal
                from {{ from_relation }}
                where {{ conditions[name] }}
                {%- if not loop.last %}
                union all
                {%- endif %}
                {%- endfor %}
            ) as candidates
            -- a subquery, not `ref as alias`: unit tests render a ref as an aliased subquery already
            inner join (select signal, severity from {{ ref('signal_actions') }}) as signal_actions
                on candidates.signal = signal_actions.signal
            where
                {%- if severities | length > 0 %}
                signal_actions.severity in ('{{ severities | join("', '") }}')
                {%- else %}
                1 = 0
                {%- endif %}
        ) as ranked

        where ranked.cap_rank = 1
    )
{%- endmacro %}

{#- health_status after the cap: a banded `healthy` with a capping signal becomes `at_risk`. -#}
{% macro capped_health_status(banded_column, cap_signal_column) -%}
    case
        when {{ banded_column }} = 'healthy' and {{ cap_signal_column }} is not null then 'at_risk'
        else {{ banded_column }}
    end
{%- endmacro %}

{#- health_status_capped_by: the capping signal when the cap changed the status, else null. -#}
{% macro health_status_capped_by(banded_column, cap_signal_column) -%}
    case when {{ banded_column }} = 'healthy' then {{ cap_signal_column }} end
{%- endmacro %}
