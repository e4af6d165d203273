-- Revenue of record from Stripe per customer (email_key) at T (metrics.md, Revenue timeline): mrr = m(c, T)
-- from the timeline at the rate of T's month, ltv = succeeded charges less refunds (each at its own day's
-- month's rate), the subscriptions counted in MRR at T, the latest succeeded charge, Stripe's delinquent flag.
-- Several Stripe customers with one email add up. int_customers_unified prefers these columns to Intercom's
-- attributes whenever the customer is here (revenue_basis = 'stripe'). A currency without a rate is counted
-- as-is and flagged has_foreign_currency, as the Intercom basis does.

with

customers as (

    select * from {{ ref('stg_stripe__customers') }}
    where is_valid_email

),

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

subscription_segments as (

    select * from {{ ref('int_stripe_subscription_segments') }}

),

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

reporting_rates as (

    -- the rate of each currency for each month a charge or T falls in: latest on or before the 1st
    select
        needed.currency,
        needed.month_start,
        max(fx_rates.rate_date) as rate_date

    from (
        select distinct
            currency,
            cast({{ dbt.date_trunc('month', 'created_at') }} as date) as month_start
        from charges
        union
        select distinct
            currency,
            cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as month_start
        from segments
    ) as needed
    left join fx_rates
        on lower(fx_rates.currency) = needed.currency and needed.month_start >= fx_rates.rate_date
    group by needed.currency, needed.month_start

),

rates as (

    select
        reporting_rates.currency,
        reporting_rates.month_start,
        case
            when reporting_rates.currency = '{{ var("reporting_currency") | lower }}' then 1
            else fx_rates.rate_to_reporting
        end as rate_to_reporting

    from reporting_rates
    left join fx_rates
        on lower(fx_rates.currency) = reporting_rates.currency and reporting_rates.rate_date = fx_rates.rate_date

),

mrr_at_t as (

    select
        segments.customer_key as email_key,
        sum(segments.mrr_cents / 100.0 * coalesce(rates.rate_to_reporting, 1)) as mrr_unrounded,
        max(case when rates.rate_to_reporting is null and segments.mrr_cents > 0 then 1 else 0 end)
            as has_unconverted

    from segments
    left join rates
        on
            segments.currency = rates.currency
            and rates.month_start = cast({{ dbt.date_trunc('month', as_of_date()) }} as date)
    where
        segments.valid_from <= {{ as_of_date() }}
        and (segments.valid_to is null or {{ as_of_date() }} < segments.valid_to)
    group by segments.customer_key

),

counted_subscriptions as (

    select
        customer_key as email_key,
        count(distinct subscription_id) as subscription_count

    from (
        select
            subscription_id,
            customer_key,
            mrr_cents,
            row_number() over (partition by subscription_id order by valid_from desc) as latest
        from subscription_segments
        where valid_from <= {{ as_of_date() }}
    ) as at_t
    where latest = 1 and mrr_cents > 0
    group by customer_key

),

cash as (

    select
        customers.email_key,
        sum(
            (charges.amount_cents - charges.amount_refunded_cents) / 100.0 * coalesce(rates.rate_to_reporting, 1)
        ) as ltv_unrounded,
        max(case when rates.rate_to_reporting is null then 1 else 0 end) as has_unconverted

    from charges
    inner join customers
        on charges.stripe_customer_id = customers.stripe_customer_id
    left join rates
        on
            charges.currency = rates.currency
            and rates.month_start = cast({{ dbt.date_trunc('month', 'charges.created_at') }} as date)
    where charges.charge_status = 'succeeded' and cast(charges.created_at as date) <= {{ as_of_date() }}
    group by customers.email_key

),

stripe_customers as (

    select
        email_key,
        min(stripe_customer_id) as stripe_customer_id,
        max(case when is_delinquent then 1 else 0 end) as is_delinquent

    from customers
    group by email_key

),

final as (

    select
        stripe_customers.email_key,
        cast(stripe_customers.stripe_customer_id as varchar) as stripe_customer_id,
        cast(coalesce(mrr_at_t.mrr_unrounded, 0) as decimal(28, 10)) as mrr_unrounded,
        cast({{ round_half_up('coalesce(mrr_at_t.mrr_unrounded, 0)', 2) }} as decimal(18, 2)) as mrr,
        cast({{ round_half_up('coalesce(mrr_at_t.mrr_unrounded, 0) * 12', 2) }} as decimal(18, 2)) as arr,
        cast({{ round_half_up('coalesce(cash.ltv_unrounded, 0)', 2) }} as decimal(18, 2)) as ltv,
        cast(coalesce(counted_subscriptions.subscription_count, 0) as integer) as subscription_count,
        stripe_customers.is_delinquent = 1 as is_delinquent,
        (coalesce(mrr_at_t.has_unconverted, 0) = 1 or coalesce(cash.has_unconverted, 0) = 1) as has_foreign_currency,
        cast('stripe' as varchar) as revenue_basis

    from stripe_customers
    left join mrr_at_t
        on stripe_customers.email_key = mrr_at_t.email_key
    left join counted_subscriptions
        on stripe_customers.email_key = counted_subscriptions.email_key
    left join cash
        on stripe_customers.email_key = cash.email_key

)

select * from final
