-- The customers of at_risk_customers who were not at risk (in the health scope and not healthy) on the
-- snapshot a digest compares with (daily: the latest on or before T - 1 day, weekly: T - 7 days); none when
-- there is no such snapshot. One row per (period, customer), in at_risk_customers' order.

{%- set periods = {'daily': 1, 'weekly': 7} %}

with

at_risk as (

    select * from {{ ref('at_risk_customers') }}

),

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date < {{ as_of_date() }}

),

periods as (

    {%- for period, days in periods.items() %}
    select
        '{{ period }}' as period,
        max(as_of_date) as compared_with
    from history
    where as_of_date <= {{ dbt.dateadd('day', -1 * days, as_of_date()) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

previously_at_risk as (

    select
        periods.period,
        history.email_key

    from periods
    inner join history
        on periods.compared_with = history.as_of_date
    where coalesce(history.is_in_health_scope, true) and history.health_status != 'healthy'

),

final as (

    select
        cast(periods.period as varchar) as period,
        cast(periods.compared_with as date) as compared_with,
        cast(at_risk.risk_rank as integer) as risk_rank,
        cast(at_risk.email_key as varchar) as email_key,
        cast(at_risk.email as varchar) as email,
        cast(at_risk.name as varchar) as name,
        cast(at_risk.mrr as decimal(18, 2)) as mrr,
        cast(at_risk.health_score as integer) as health_score,
        cast(at_risk.health_status as varchar) as health_status,
        cast(at_risk.recommended_action as varchar) as recommended_action

    from periods
    cross join at_risk
    left join previously_at_risk
        on
            periods.period = previously_at_risk.period
            and at_risk.email_key = previously_at_risk.email_key
    where periods.compared_with is not null and previously_at_risk.email_key is null

)

select * from final
