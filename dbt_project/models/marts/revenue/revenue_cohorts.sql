-- Cohorts (metrics.md, Revenue timeline): a customer's cohort is the month of its first day with MRR; for
-- month k = 0, 1, ... after it (up to T's month), the customers with MRR on the last day of month k (T for
-- T's month), their MRR at that month's rate, and both as shares of month 0.

with

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

months as (

    select * from {{ ref('int_revenue_months') }}

),

first_paid as (

    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'min(valid_from)') }} as date) as cohort_month

    from segments
    where mrr_cents > 0
    group by customer_key

),

calendar as (

    select distinct
        month_start,
        month_end
    from months

),

values_at as (

    select
        first_paid.cohort_month,
        calendar.month_start,
        first_paid.customer_key,
        sum(segments.mrr_cents / 100.0 * months.rate_to_reporting) as mrr_reporting

    from first_paid
    inner join calendar
        on first_paid.cohort_month <= calendar.month_start
    inner join segments
        on
            first_paid.customer_key = segments.customer_key
            and calendar.month_end >= segments.valid_from
            and (segments.valid_to is null or calendar.month_end < segments.valid_to)
            and segments.mrr_cents > 0
    inner join months
        on calendar.month_start = months.month_start and segments.currency = months.currency
    group by first_paid.cohort_month, calendar.month_start, first_paid.customer_key

),

cohort_months as (

    select
        first_paid.cohort_month,
        calendar.month_start,
        count(distinct values_at.customer_key) as customers,
        sum(values_at.mrr_reporting) as mrr

    from (select distinct cohort_month from first_paid) as first_paid
    inner join calendar
        on first_paid.cohort_month <= calendar.month_start
    left join values_at
        on first_paid.cohort_month = values_at.cohort_month and calendar.month_start = values_at.month_start
    group by first_paid.cohort_month, calendar.month_start

),

with_base as (

    select
        cohort_months.*,
        {{ dbt.datediff('cohort_months.cohort_month', 'cohort_months.month_start', 'month') }} as month_number,
        base.customers as base_customers,
        base.mrr as base_mrr

    from cohort_months
    inner join cohort_months as base
        on cohort_months.cohort_month = base.cohort_month and cohort_months.cohort_month = base.month_start

),

final as (

    select
        cast(cohort_month as date) as cohort_month,
        cast(month_number as integer) as month_number,
        cast(month_start as date) as month_start,
        cast(customers as integer) as customers,
        cast(coalesce(mrr, 0) as decimal(20, 2)) as mrr,
        cast(case when base_customers > 0 then 1.0 * customers / base_customers end as decimal(10, 6))
            as customer_share,
        cast(case when base_mrr > 0 then mrr / base_mrr end as decimal(10, 6)) as mrr_share

    from with_base

)

select * from final
