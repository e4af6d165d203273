-- MRR per customer, currency and month from the daily timeline: m(c, last day of the month; T for T's
-- month), natively and at the month's rate (null without a rate). Only customers with MRR > 0 that day.

with

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

months as (

    select * from {{ ref('int_revenue_months') }}

),

final as (

    select
        cast(months.month_start as date) as month_start,
        cast(months.month_end as date) as month_end,
        cast(segments.customer_key as varchar) as customer_key,
        cast(segments.currency as varchar) as currency,
        cast(segments.mrr_cents / 100.0 as decimal(20, 6)) as mrr_native,
        cast(months.rate_to_reporting as decimal(20, 10)) as rate_to_reporting,
        cast(segments.mrr_cents / 100.0 * months.rate_to_reporting as decimal(20, 6)) as mrr_reporting

    from months
    inner join segments
        on
            months.currency = segments.currency
            and months.month_end >= segments.valid_from
            and (segments.valid_to is null or months.month_end < segments.valid_to)
    where segments.mrr_cents > 0

)

select * from final
