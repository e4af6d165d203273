-- One row per calendar quarter with a snapshot in customer_health_history up to T: churn risk of the customer
-- base of the health scope on the quarter's latest snapshot (expected MRR loss, high-risk customers, MRR by
-- health status), and
-- the churn observed since the previous quarter's latest snapshot (doc block `report_quarterly_churn_risk`).

{%- set statuses = ['at_risk', 'high_risk', 'critical'] %}

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

quarters as (

    select
        quarter_start_date,
        snapshot_date,
        lag(snapshot_date) over (order by quarter_start_date) as previous_snapshot_date,
        lag(quarter_start_date) over (order by quarter_start_date) as previous_quarter_start_date

    from (
        select
            cast({{ dbt.date_trunc('quarter', 'as_of_date') }} as date) as quarter_start_date,
            max(as_of_date) as snapshot_date

        from history
        group by 1
    ) as quarter_snapshots

),

quarter_rows as (

    select
        quarters.quarter_start_date,
        history.email_key,
        history.health_status,
        history.churn_risk,
        coalesce(history.mrr, 0) as mrr

    from quarters
    inner join history
        on quarters.snapshot_date = history.as_of_date
    where coalesce(history.is_in_health_scope, true)

),

ever_at_risk as (

    select
        quarters.quarter_start_date,
        count(distinct history.email_key) as customers_at_risk_in_quarter

    from quarters
    inner join history
        on
            coalesce(quarters.previous_snapshot_date, cast('1900-01-01' as date)) < history.as_of_date
            and quarters.snapshot_date >= history.as_of_date
    where history.health_status != 'healthy' and coalesce(history.is_in_health_scope, true)
    group by 1

),

churned as (

    select
        quarters.quarter_start_date,
        count(*) as churned_customers,
        sum(previous_rows.mrr) as churned_mrr

    from quarters
    inner join history as previous_rows
        on quarters.previous_snapshot_date = previous_rows.as_of_date
    left join history as current_rows
        on
            quarters.snapshot_date = current_rows.as_of_date
            and previous_rows.email_key = current_rows.email_key
    where previous_rows.mrr > 0 and coalesce(current_rows.mrr, 0) = 0
    group by 1

),

quarterly as (

    select
        quarter_start_date,
        count(*) as total_customers,
        sum(case when mrr > 0 then 1 else 0 end) as paying_customers,
        sum(mrr) as total_mrr,
        avg(churn_risk) as avg_churn_risk,
        sum(mrr * churn_risk) / 100.0 as expected_churn_mrr,
        sum(case when churn_risk >= {{ var('report_high_churn_risk') }} then 1 else 0 end)
            as high_churn_risk_customers,
        sum(case when churn_risk >= {{ var('report_high_churn_risk') }} then mrr else 0 end)
            as high_churn_risk_mrr,
        {%- for status in statuses %}
        sum(case when health_status = '{{ status }}' then 1 else 0 end) as {{ status }}_customers,
        sum(case when health_status = '{{ status }}' then mrr else 0 end) as {{ status }}_mrr
        {%- if not loop.last %},{% endif %}
        {%- endfor %}

    from quarter_rows
    group by 1

),

previous_paying as (

    select
        quarters.quarter_start_date,
        count(*) as previous_paying_customers

    from quarters
    inner join history as previous_rows
        on quarters.previous_snapshot_date = previous_rows.as_of_date
    where previous_rows.mrr > 0
    group by 1

),

final as (

    select
        cast(quarters.quarter_start_date as date) as quarter_start_date,
        cast(quarters.snapshot_date as date) as snapshot_date,
        cast(quarters.previous_snapshot_date as date) as previous_snapshot_date,
        cast(quarterly.total_customers as integer) as total_customers,
        cast(quarterly.paying_customers as integer) as paying_customers,
        cast(quarterly.total_mrr as decimal(18, 2)) as total_mrr,
        cast({{ round_half_up('quarterly.avg_churn_risk', 2) }} as decimal(5, 2)) as avg_churn_risk,
        cast(
            {{ round_half_up('quarterly.avg_churn_risk - previous_quarterly.avg_churn_risk', 2) }} as decimal(6, 2)
        ) as avg_churn_risk_change,
        cast({{ round_half_up('quarterly.expected_churn_mrr', 2) }} as decimal(18, 2)) as expected_churn_mrr,
        cast(quarterly.high_churn_risk_customers as integer) as high_churn_risk_customers,
        cast(quarterly.high_churn_risk_mrr as decimal(18, 2)) as high_churn_risk_mrr,
        {%- for status in statuses %}
        cast(quarterly.{{ status }}_customers as integer) as {{ status }}_customers,
        cast(quarterly.{{ status }}_mrr as decimal(18, 2)) as {{ status }}_mrr,
        {%- endfor %}
        cast(coalesce(ever_at_risk.customers_at_risk_in_quarter, 0) as integer) as customers_at_risk_in_quarter,
        cast(
            case when quarters.previous_snapshot_date is not null then coalesce(churned.churned_customers, 0) end
            as integer
        ) as churned_customers,
        cast(
            case when quarters.previous_snapshot_date is not null then coalesce(churned.churned_mrr, 0) end
            as decimal(18, 2)
        ) as churned_mrr,
        cast(
            case
                when previous_paying.previous_paying_customers > 0
                    then {{ round_half_up(
                        'coalesce(churned.churned_customers, 0) * 100.0 / previous_paying.previous_paying_customers', 2
                    ) }}
            end as decimal(9, 2)
        ) as churn_rate_pct

    from quarters
    inner join quarterly
        on quarters.quarter_start_date = quarterly.quarter_start_date
    left join quarterly as previous_quarterly
        on quarters.previous_quarter_start_date = previous_quarterly.quarter_start_date
    left join ever_at_risk
        on quarters.quarter_start_date = ever_at_risk.quarter_start_date
    left join churned
        on quarters.quarter_start_date = churned.quarter_start_date
    left join previous_paying
        on quarters.quarter_start_date = previous_paying.quarter_start_date

)

select * from final
