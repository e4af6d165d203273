-- Retention over (P0, P1] (metrics.md, Revenue timeline): S = customers with MRR on P0. NRR = their MRR
-- on P1 / their MRR on P0; GRR = the sum of min(MRR on P1, MRR on P0) / their MRR on P0; logo retention =
-- the share of S with MRR on P1. Both sides at P1's month's rate; currencies without a rate stay out of NRR
-- and GRR but their customers count in the logo figures. `monthly`: P0 = last day of the previous month,
-- P1 = last day of the month (T for T's month); `ttm`: P0 = T - 12 months, P1 = T.

with

months as (

    select * from {{ ref('int_revenue_months') }}

),

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

first_month as (

    select min(month_start) as month_start
    from months

),

periods as (

    select distinct
        'monthly' as period_type,
        cast({{ dbt.dateadd('day', -1, 'months.month_start') }} as date) as period_start,
        months.month_end as period_end,
        months.month_start as rate_month

    from months
    inner join first_month
        on months.month_start > first_month.month_start

    union all

    select distinct
        'ttm' as period_type,
        cast({{ dbt.dateadd('month', -12, as_of_date()) }} as date) as period_start,
        {{ as_of_date() }} as period_end,
        cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as rate_month

    from months

),

values_at as (

    select
        periods.period_type,
        periods.period_end,
        segments.customer_key,
        sum(case
            when
                segments.valid_from <= periods.period_start
                and (segments.valid_to is null or periods.period_start < segments.valid_to)
                then segments.mrr_cents / 100.0 * months.rate_to_reporting
        end) as mrr_start,
        sum(case
            when
                segments.valid_from <= periods.period_end
                and (segments.valid_to is null or periods.period_end < segments.valid_to)
                then segments.mrr_cents / 100.0 * months.rate_to_reporting
        end) as mrr_end,
        max(case
            when
                segments.valid_from <= periods.period_start
                and (segments.valid_to is null or periods.period_start < segments.valid_to)
                and segments.mrr_cents > 0
                then 1
            else 0
        end) as is_paying_start,
        max(case
            when
                segments.valid_from <= periods.period_end
                and (segments.valid_to is null or periods.period_end < segments.valid_to)
                and segments.mrr_cents > 0
                then 1
            else 0
        end) as is_paying_end

    from periods
    inner join segments
        on periods.period_end >= segments.valid_from
    inner join months
        on periods.rate_month = months.month_start and segments.currency = months.currency
    group by periods.period_type, periods.period_end, segments.customer_key

),

totals as (

    select
        periods.period_type,
        periods.period_start,
        periods.period_end,
        sum(values_at.is_paying_start) as customers_start,
        sum(values_at.is_paying_start * values_at.is_paying_end) as customers_retained,
        sum(case when values_at.is_paying_start = 1 then values_at.mrr_start end) as mrr_start,
        sum(case when values_at.is_paying_start = 1 then values_at.mrr_end end) as mrr_retained,
        sum(case
            when values_at.is_paying_start = 1 and values_at.mrr_end < values_at.mrr_start then values_at.mrr_end
            when values_at.is_paying_start = 1 then values_at.mrr_start
        end) as mrr_retained_gross

    from periods
    left join values_at
        on periods.period_type = values_at.period_type and periods.period_end = values_at.period_end
    group by periods.period_type, periods.period_start, periods.period_end

),

final as (

    select
        cast(period_type as varchar) as period_type,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(coalesce(customers_start, 0) as integer) as customers_start,
        cast(coalesce(customers_retained, 0) as integer) as customers_retained,
        cast(coalesce(mrr_start, 0) as decimal(20, 2)) as mrr_start,
        cast(coalesce(mrr_retained, 0) as decimal(20, 2)) as mrr_retained,
        cast(case when mrr_start > 0 then mrr_retained / mrr_start end as decimal(10, 6)) as nrr,
        cast(case when mrr_start > 0 then mrr_retained_gross / mrr_start end as decimal(10, 6)) as grr,
        cast(case when customers_start > 0 then 1.0 * customers_retained / customers_start end as decimal(10, 6))
            as logo_retention

    from totals

)

select * from final
