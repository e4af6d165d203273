-- One row per (month, plan, subscription status) with a snapshot in customer_health_history up to T: MRR on
-- the month's latest snapshot, and the change against the previous calendar month's latest snapshot (doc
-- block `report_monthly_mrr`). A group present last month and gone now has a row with mrr 0.

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

months as (

    select
        month_start_date,
        snapshot_date,
        cast({{ dbt.dateadd('month', -1, 'month_start_date') }} as date) as previous_month_start_date

    from (
        select
            cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as month_start_date,
            max(as_of_date) as snapshot_date

        from history
        group by 1
    ) as month_snapshots

),

groups as (

    select
        months.month_start_date,
        coalesce(nullif(trim(history.plan_name), ''), 'Unknown') as plan_name,
        coalesce(history.subscription_status, 'none') as subscription_status,
        count(*) as customers,
        sum(case when history.mrr > 0 then 1 else 0 end) as paying_customers,
        coalesce(sum(history.mrr), 0) as mrr

    from months
    inner join history
        on months.snapshot_date = history.as_of_date
    group by 1, 2, 3

),

group_keys as (

    select
        month_start_date,
        plan_name,
        subscription_status

    from groups

    union

    select
        months.month_start_date,
        groups.plan_name,
        groups.subscription_status

    from groups
    inner join months
        on groups.month_start_date = months.previous_month_start_date

),

joined as (

    select
        group_keys.month_start_date,
        months.snapshot_date,
        group_keys.plan_name,
        group_keys.subscription_status,
        coalesce(current_groups.customers, 0) as customers,
        coalesce(current_groups.paying_customers, 0) as paying_customers,
        coalesce(current_groups.mrr, 0) as mrr,
        case
            when previous_months.month_start_date is not null then coalesce(previous_groups.mrr, 0)
        end as previous_month_mrr

    from group_keys
    inner join months
        on group_keys.month_start_date = months.month_start_date
    left join months as previous_months
        on months.previous_month_start_date = previous_months.month_start_date
    left join groups as current_groups
        on
            group_keys.month_start_date = current_groups.month_start_date
            and group_keys.plan_name = current_groups.plan_name
            and group_keys.subscription_status = current_groups.subscription_status
    left join groups as previous_groups
        on
            months.previous_month_start_date = previous_groups.month_start_date
            and group_keys.plan_name = previous_groups.plan_name
            and group_keys.subscription_status = previous_groups.subscription_status

),

final as (

    select
        cast(month_start_date as date) as month_start_date,
        cast(snapshot_date as date) as snapshot_date,
        cast(plan_name as varchar) as plan_name,
        cast(subscription_status as varchar) as subscription_status,
        cast(customers as integer) as customers,
        cast(paying_customers as integer) as paying_customers,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(
            {{ round_half_up('mrr / nullif(sum(mrr) over (partition by month_start_date), 0)', 4) }}
            as decimal(7, 4)
        ) as share_of_mrr,
        cast(previous_month_mrr as decimal(18, 2)) as previous_month_mrr,
        cast(mrr - previous_month_mrr as decimal(18, 2)) as mrr_growth,
        cast(
            case
                when previous_month_mrr > 0
                    then {{ round_half_up('(mrr - previous_month_mrr) * 100.0 / previous_month_mrr', 2) }}
            end as decimal(9, 2)
        ) as mrr_growth_pct,
        cast(sum(mrr) over (partition by month_start_date) as decimal(18, 2)) as month_total_mrr,
        cast(sum(previous_month_mrr) over (partition by month_start_date) as decimal(18, 2))
            as previous_month_total_mrr

    from joined

)

select * from final
