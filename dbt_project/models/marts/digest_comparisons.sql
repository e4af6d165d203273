-- What the Slack digests compare (alerts/digest.py), one row per period: daily compares T with the latest
-- health snapshot on or before T - 1 day, weekly with T - 7 days (compared_with, null without one). The
-- previous totals cover the health scope of that snapshot, like dashboard_summary's; new_at_risk_* are the
-- customers of at_risk_customers who were not at risk (in scope and not healthy) then (digest_new_at_risk).

{%- set periods = {'daily': 1, 'weekly': 7} %}
{%- set statuses = ['healthy', 'at_risk', 'high_risk', 'critical'] %}

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date < {{ as_of_date() }} and coalesce(is_in_health_scope, true)

),

new_at_risk as (

    select * from {{ ref('digest_new_at_risk') }}

),

periods as (

    {%- for period, days in periods.items() %}
    select
        '{{ period }}' as period,
        max(as_of_date) as compared_with
    from {{ ref('customer_health_history') }}
    where as_of_date <= {{ dbt.dateadd('day', -1 * days, as_of_date()) }} and as_of_date < {{ as_of_date() }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

previous_totals as (

    select
        periods.period,
        sum(history.mrr) as previous_total_mrr,
        {%- for status in statuses %}
        sum(case when history.health_status = '{{ status }}' then 1 else 0 end) as previous_{{ status }}_customers
        {%- if not loop.last %},{% endif %}
        {%- endfor %}

    from periods
    inner join history
        on periods.compared_with = history.as_of_date
    group by periods.period

),

new_totals as (

    select
        period,
        count(*) as new_at_risk_count,
        sum(mrr) as new_at_risk_mrr

    from new_at_risk
    group by period

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(periods.period as varchar) as period,
        cast(periods.compared_with as date) as compared_with,
        cast(
            case when periods.compared_with is not null then coalesce(previous_totals.previous_total_mrr, 0) end
            as decimal(18, 2)
        ) as previous_total_mrr,
        {%- for status in statuses %}
        cast(
            case
                when periods.compared_with is not null
                    then coalesce(previous_totals.previous_{{ status }}_customers, 0)
            end as integer
        ) as previous_{{ status }}_customers,
        {%- endfor %}
        cast(coalesce(new_totals.new_at_risk_count, 0) as integer) as new_at_risk_count,
        cast(coalesce(new_totals.new_at_risk_mrr, 0) as decimal(18, 2)) as new_at_risk_mrr

    from periods
    left join previous_totals
        on periods.period = previous_totals.period
    left join new_totals
        on periods.period = new_totals.period

)

select * from final
