-- The movements ledger (metrics.md, Revenue timeline): per customer, currency and day, the change from
-- m(c, d-1) to m(c, d), classified new_business (the first day the customer ever has MRR > 0),
-- reactivation (0 -> > 0 after an earlier day with MRR), expansion / contraction (both sides > 0) or churn
-- (> 0 -> 0). Subscriptions of one customer add up before the change is taken, so a plan switched on one
-- day nets into one expansion or contraction. Plus `fx` on the first day of each month: the previous day's
-- native MRR revalued from the previous month's rate to the new month's (reporting amount only).
-- Reporting amounts use the rate of the day's month; null for a currency without a rate.

with

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

months as (

    select * from {{ ref('int_revenue_months') }}

),

classified as (

    select
        customer_key,
        currency,
        valid_from as movement_date,
        mrr_cents - previous_mrr_cents as amount_cents,
        case
            when previous_mrr_cents = 0 and max(case when previous_mrr_cents > 0 then 1 else 0 end) over (
                partition by customer_key, currency
                order by valid_from
                rows between unbounded preceding and current row
            ) = 1 then 'reactivation'
            when previous_mrr_cents = 0 then 'new_business'
            when mrr_cents = 0 then 'churn'
            when mrr_cents > previous_mrr_cents then 'expansion'
            else 'contraction'
        end as movement_type

    from segments

),

business as (

    select
        classified.customer_key,
        classified.movement_date,
        classified.movement_type,
        classified.currency,
        classified.amount_cents / 100.0 as amount_native,
        classified.amount_cents / 100.0 * months.rate_to_reporting as amount_reporting

    from classified
    inner join months
        on
            classified.currency = months.currency
            and {{ dbt.date_trunc('month', 'classified.movement_date') }} = months.month_start

),

month_pairs as (

    select
        months.month_start,
        months.currency,
        months.rate_to_reporting,
        previous.rate_to_reporting as previous_rate_to_reporting

    from months
    inner join months as previous
        on
            months.currency = previous.currency
            and previous.month_start = {{ dbt.dateadd('month', -1, 'months.month_start') }}
    where months.rate_to_reporting != previous.rate_to_reporting

),

fx as (

    select
        segments.customer_key,
        cast(month_pairs.month_start as date) as movement_date,
        'fx' as movement_type,
        segments.currency,
        0.0 as amount_native,
        segments.mrr_cents / 100.0
        * (month_pairs.rate_to_reporting - month_pairs.previous_rate_to_reporting) as amount_reporting

    from month_pairs
    -- the piece holding the previous day: it started before the 1st and ends on or after it
    inner join segments
        on
            month_pairs.currency = segments.currency
            and month_pairs.month_start > segments.valid_from
            and (segments.valid_to is null or month_pairs.month_start <= segments.valid_to)
            and segments.mrr_cents > 0

),

unioned as (

    select * from business
    union all
    select * from fx

),

final as (

    select
        cast(customer_key as varchar) as customer_key,
        cast(movement_date as date) as movement_date,
        cast(movement_type as varchar) as movement_type,
        cast(currency as varchar) as currency,
        cast(amount_native as decimal(20, 6)) as amount_native,
        cast(amount_reporting as decimal(20, 6)) as amount_reporting

    from unioned

)

select * from final
