-- One row per ISO week (Monday start) with a snapshot in customer_health_history up to T: the health of the
-- customers of the health scope (var `health_scope_stages`) on the week's latest snapshot, and how it moved
-- since the previous week's latest snapshot
-- (doc block `report_weekly_health_summary`).

{%- set statuses = ['healthy', 'at_risk', 'high_risk', 'critical'] %}

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

weeks as (

    select
        week_start_date,
        snapshot_date,
        snapshot_days,
        lag(snapshot_date) over (order by week_start_date) as previous_snapshot_date,
        lag(week_start_date) over (order by week_start_date) as previous_week_start_date

    from (
        select
            cast({{ dbt.date_trunc('week', 'as_of_date') }} as date) as week_start_date,
            max(as_of_date) as snapshot_date,
            count(distinct as_of_date) as snapshot_days

        from history
        group by 1
    ) as week_snapshots

),

week_rows as (

    select
        weeks.week_start_date,
        weeks.previous_week_start_date,
        history.email_key,
        history.health_score,
        history.health_status,
        history.churn_risk,
        coalesce(history.mrr, 0) as mrr,
        previous_rows.health_score as previous_health_score,
        previous_rows.health_status as previous_health_status

    from weeks
    inner join history
        on weeks.snapshot_date = history.as_of_date
    left join history as previous_rows
        on
            weeks.previous_snapshot_date = previous_rows.as_of_date
            and history.email_key = previous_rows.email_key
    where coalesce(history.is_in_health_scope, true)

),

weekly as (

    select
        week_start_date,
        count(*) as total_customers,
        sum(case when mrr > 0 then 1 else 0 end) as paying_customers,
        sum(mrr) as total_mrr,
        avg(health_score) as avg_health_score,
        avg(churn_risk) as avg_churn_risk,
        {%- for status in statuses %}
        sum(case when health_status = '{{ status }}' then 1 else 0 end) as {{ status }}_customers,
        {%- endfor %}
        sum(case when health_status != 'healthy' then mrr else 0 end) as mrr_at_risk,
        sum(
            case when health_score - previous_health_score >= {{ var('health_trend_points') }} then 1 else 0 end
        ) as improved_customers,
        sum(
            case when previous_health_score - health_score >= {{ var('health_trend_points') }} then 1 else 0 end
        ) as declined_customers,
        sum(
            case
                when health_status = 'critical' and coalesce(previous_health_status, '') != 'critical' then 1
                else 0
            end
        ) as newly_critical_customers

    from week_rows
    group by 1

),

final as (

    select
        cast(weeks.week_start_date as date) as week_start_date,
        cast(weeks.snapshot_date as date) as snapshot_date,
        cast(weeks.snapshot_days as integer) as snapshot_days,
        cast(weeks.previous_snapshot_date as date) as previous_snapshot_date,
        cast(weekly.total_customers as integer) as total_customers,
        cast(weekly.paying_customers as integer) as paying_customers,
        cast(weekly.total_mrr as decimal(18, 2)) as total_mrr,
        cast({{ round_half_up('weekly.avg_health_score', 2) }} as decimal(5, 2)) as avg_health_score,
        cast(
            {{ round_half_up('weekly.avg_health_score - previous_weekly.avg_health_score', 2) }} as decimal(6, 2)
        ) as avg_health_score_change,
        cast({{ round_half_up('weekly.avg_churn_risk', 2) }} as decimal(5, 2)) as avg_churn_risk,
        {%- for status in statuses %}
        cast(weekly.{{ status }}_customers as integer) as {{ status }}_customers,
        {%- endfor %}
        cast(weekly.mrr_at_risk as decimal(18, 2)) as mrr_at_risk,
        cast(case when weeks.previous_snapshot_date is not null then weekly.improved_customers end as integer)
            as improved_customers,
        cast(case when weeks.previous_snapshot_date is not null then weekly.declined_customers end as integer)
            as declined_customers,
        cast(
            case when weeks.previous_snapshot_date is not null then weekly.newly_critical_customers end as integer
        ) as newly_critical_customers

    from weeks
    inner join weekly
        on weeks.week_start_date = weekly.week_start_date
    left join weekly as previous_weekly
        on weeks.previous_week_start_date = previous_weekly.week_start_date

)

select * from final
