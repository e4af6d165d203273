-- One row per snapshot date in customer_health_history up to T: customers, paying customers and MRR, and the
-- MRR movements since the previous snapshot (new, expansion, contraction, churned), MRR growth and the
-- customer churn rate (doc block `report_trending_metrics`). A customer pays when mrr > 0.

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

snapshot_dates as (

    select
        as_of_date,
        lag(as_of_date) over (order by as_of_date) as previous_as_of_date

    from (select distinct as_of_date from history) as dates

),

customer_pairs as (

    select
        snapshot_dates.as_of_date,
        snapshot_dates.previous_as_of_date,
        coalesce(current_rows.mrr, 0) as mrr,
        coalesce(previous_rows.mrr, 0) as previous_mrr

    from snapshot_dates
    inner join history as current_rows
        on snapshot_dates.as_of_date = current_rows.as_of_date
    left join history as previous_rows
        on
            snapshot_dates.previous_as_of_date = previous_rows.as_of_date
            and current_rows.email_key = previous_rows.email_key

    union all

    -- customers present in the previous snapshot only: their MRR was lost
    select
        snapshot_dates.as_of_date,
        snapshot_dates.previous_as_of_date,
        0 as mrr,
        coalesce(previous_rows.mrr, 0) as previous_mrr

    from snapshot_dates
    inner join history as previous_rows
        on snapshot_dates.previous_as_of_date = previous_rows.as_of_date
    left join history as current_rows
        on
            snapshot_dates.as_of_date = current_rows.as_of_date
            and previous_rows.email_key = current_rows.email_key
    where current_rows.email_key is null

),

current_totals as (

    select
        as_of_date,
        count(*) as total_customers,
        sum(case when mrr > 0 then 1 else 0 end) as paying_customers,
        coalesce(sum(mrr), 0) as total_mrr

    from history
    group by as_of_date

),

movements as (

    select
        as_of_date,
        max(previous_as_of_date) as previous_as_of_date,
        sum(case when previous_mrr > 0 then 1 else 0 end) as previous_paying_customers,
        sum(previous_mrr) as previous_total_mrr,
        sum(case when previous_mrr = 0 and mrr > 0 then 1 else 0 end) as new_paying_customers,
        sum(case when previous_mrr > 0 and mrr = 0 then 1 else 0 end) as churned_customers,
        sum(case when previous_mrr = 0 and mrr > 0 then mrr else 0 end) as new_mrr,
        sum(case when previous_mrr > 0 and mrr > previous_mrr then mrr - previous_mrr else 0 end)
            as expansion_mrr,
        sum(case when mrr > 0 and previous_mrr > mrr then previous_mrr - mrr else 0 end) as contraction_mrr,
        sum(case when previous_mrr > 0 and mrr = 0 then previous_mrr else 0 end) as churned_mrr

    from customer_pairs
    group by as_of_date

),

final as (

    select
        cast(current_totals.as_of_date as date) as as_of_date,
        cast(movements.previous_as_of_date as date) as previous_as_of_date,
        cast(current_totals.total_customers as integer) as total_customers,
        cast(current_totals.paying_customers as integer) as paying_customers,
        cast(current_totals.total_mrr as decimal(18, 2)) as total_mrr,
        cast(
            case when movements.previous_as_of_date is not null then movements.previous_total_mrr end
            as decimal(18, 2)
        ) as previous_total_mrr,
        cast(
            case
                when movements.previous_as_of_date is not null
                    then current_totals.total_mrr - movements.previous_total_mrr
            end as decimal(18, 2)
        ) as mrr_growth,
        cast(
            case
                when movements.previous_total_mrr > 0
                    then {{ round_half_up(
                        '(current_totals.total_mrr - movements.previous_total_mrr) * 100.0'
                        ~ ' / movements.previous_total_mrr', 2
                    ) }}
            end as decimal(9, 2)
        ) as mrr_growth_pct,
        cast(case when movements.previous_as_of_date is not null then movements.new_paying_customers end as integer)
            as new_paying_customers,
        cast(case when movements.previous_as_of_date is not null then movements.churned_customers end as integer)
            as churned_customers,
        cast(case when movements.previous_as_of_date is not null then movements.new_mrr end as decimal(18, 2))
            as new_mrr,
        cast(case when movements.previous_as_of_date is not null then movements.expansion_mrr end as decimal(18, 2))
            as expansion_mrr,
        cast(
            case when movements.previous_as_of_date is not null then movements.contraction_mrr end as decimal(18, 2)
        ) as contraction_mrr,
        cast(case when movements.previous_as_of_date is not null then movements.churned_mrr end as decimal(18, 2))
            as churned_mrr,
        cast(
            case
                when movements.previous_paying_customers > 0
                    then {{ round_half_up(
                        'movements.churned_customers * 100.0 / movements.previous_paying_customers', 2
                    ) }}
            end as decimal(9, 2)
        ) as churn_rate_pct

    from current_totals
    left join movements
        on current_totals.as_of_date = movements.as_of_date

)

select * from final
