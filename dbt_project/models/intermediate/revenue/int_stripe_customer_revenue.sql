-- Revenue of record from Stripe per customer (email_key) at T (metrics.md, Revenue timeline), in the columns
-- of int_revenue_aggregated: mrr = m(c, T) at the rate of T's month (null when a currency with MRR has no
-- rate: is_fx_missing; mrr_native / currency when there is one currency), ltv = succeeded charges less
-- refunds up to T, each at its own month's rate (ltv_native / ltv_currency / is_ltv_fx_missing alike),
-- has_mrr (m(c, T) > 0), has_paid (MRR > 0 on an earlier day: customer_stage `churned`),
-- has_trialing_subscription, subscription_count (counted in MRR at T), is_delinquent (Stripe's flag),
-- payment_failed_at (the latest failed charge of an unpaid invoice in var payment_failure_days before T),
-- subscription_status (the best status at T among the subscriptions started by T, in the order of var
-- subscription_status_order: canceled once ended by T, trialing before the trial end, and a subscription
-- Stripe now shows canceled or trialing that ended or converted after T was active at T), plan_name and
-- plan_price (the nickname and unit amount of today's licensed recurring item with the highest unit amount of
-- the subscription with that best status, the latest started first).
-- Several Stripe customers with one email add up. int_customers_unified prefers these to Intercom's
-- attributes whenever the customer is here (revenue_basis = 'stripe').

with

customers as (

    -- a Stripe customer created after the end of T's day does not exist yet for a build for T
    select * from {{ ref('stg_stripe__customers') }}
    where is_valid_email and {{ known_by_end_of_as_of('created_at') }}

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

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

items as (

    select * from {{ ref('stg_stripe__subscription_items') }}

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
        sum(segments.mrr_cents / 100.0 * rates.rate_to_reporting) as mrr_unrounded,
        sum(segments.mrr_cents / 100.0) as mrr_native_unrounded,
        count(distinct case when segments.mrr_cents > 0 then segments.currency end) as mrr_currency_count,
        max(case when segments.mrr_cents > 0 then segments.currency end) as mrr_currency,
        max(case when rates.rate_to_reporting is null and segments.mrr_cents > 0 then 1 else 0 end)
            as has_unconverted,
        max(case when segments.mrr_cents > 0 then 1 else 0 end) as has_mrr

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

paid_before as (

    select
        customer_key as email_key,
        max(case when mrr_cents > 0 then 1 else 0 end) as has_paid

    from segments
    where valid_from < {{ as_of_date() }}
    group by customer_key

),

counted_subscriptions as (

    select
        at_t.customer_key as email_key,
        count(distinct at_t.subscription_id) as subscription_count

    from (
        select
            subscription_id,
            customer_key,
            mrr_cents,
            row_number() over (partition by subscription_id order by valid_from desc) as latest_rank
        from subscription_segments
        where valid_from <= {{ as_of_date() }}
    ) as at_t
    where at_t.latest_rank = 1 and at_t.mrr_cents > 0
    group by at_t.customer_key

),

cash as (

    select
        customers.email_key,
        sum(
            (charges.amount_cents - charges.amount_refunded_cents) / 100.0 * rates.rate_to_reporting
        ) as ltv_unrounded,
        sum((charges.amount_cents - charges.amount_refunded_cents) / 100.0) as ltv_native_unrounded,
        count(distinct charges.currency) as ltv_currency_count,
        max(charges.currency) as ltv_currency,
        max(case when rates.rate_to_reporting is null then 1 else 0 end) as has_unconverted

    from charges
    inner join customers
        on charges.stripe_customer_id = customers.stripe_customer_id
    left join rates
        on
            charges.currency = rates.currency
            and cast({{ dbt.date_trunc('month', 'charges.created_at') }} as date) = rates.month_start
    where charges.charge_status = 'succeeded' and cast(charges.created_at as date) <= {{ as_of_date() }}
    group by customers.email_key

),

failures as (

    select
        customers.email_key,
        max(charges.created_at) as payment_failed_at

    from charges
    inner join invoices
        on charges.invoice_id = invoices.invoice_id
    inner join customers
        on charges.stripe_customer_id = customers.stripe_customer_id
    where
        charges.charge_status = 'failed'
        and invoices.invoice_status in ('open', 'uncollectible')
        and charges.created_at >= {{ dbt.dateadd('day', -1 * var('payment_failure_days'), as_of_timestamp()) }}
        and charges.created_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }}
    group by customers.email_key

),

trials as (

    select distinct customers.email_key

    from subscriptions
    inner join customers
        on subscriptions.stripe_customer_id = customers.stripe_customer_id
    where
        cast(subscriptions.started_at as date) <= {{ as_of_date() }}
        and cast(subscriptions.trial_ended_at as date) > {{ as_of_date() }}
        and (subscriptions.ended_at is null or cast(subscriptions.ended_at as date) > {{ as_of_date() }})

),

statuses_at_t as (

    select
        customers.email_key,
        subscriptions.subscription_id,
        subscriptions.started_at,
        case
            when subscriptions.ended_at is not null and cast(subscriptions.ended_at as date) <= {{ as_of_date() }}
                then 'canceled'
            when cast(subscriptions.trial_ended_at as date) > {{ as_of_date() }} then 'trialing'
            when subscriptions.subscription_status in ('canceled', 'trialing') then 'active'
            else subscriptions.subscription_status
        end as status_at_t

    from subscriptions
    inner join customers
        on subscriptions.stripe_customer_id = customers.stripe_customer_id
    where cast(subscriptions.started_at as date) <= {{ as_of_date() }}

),

best_subscriptions as (

    select
        email_key,
        subscription_id,
        status_at_t,
        row_number() over (
            partition by email_key
            order by
                {{ subscription_status_rank('status_at_t') }},
                started_at desc,
                subscription_id
        ) as status_rank

    from statuses_at_t

),

plan_items as (

    select
        subscription_id,
        price_nickname,
        unit_amount_cents,
        row_number() over (
            partition by subscription_id order by unit_amount_cents desc, subscription_item_id
        ) as item_rank

    from items
    where price_type = 'recurring' and coalesce(usage_type, 'licensed') = 'licensed'

),

plans as (

    select
        best_subscriptions.email_key,
        best_subscriptions.status_at_t as subscription_status,
        plan_items.price_nickname as plan_name,
        plan_items.unit_amount_cents

    from best_subscriptions
    left join plan_items
        on best_subscriptions.subscription_id = plan_items.subscription_id and plan_items.item_rank = 1
    where best_subscriptions.status_rank = 1

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
        cast(case
            when coalesce(mrr_at_t.has_unconverted, 0) = 0 then coalesce(mrr_at_t.mrr_unrounded, 0)
        end as decimal(28, 10)) as mrr_unrounded,
        cast(case
            when coalesce(mrr_at_t.has_unconverted, 0) = 0
                then {{ round_half_up('coalesce(mrr_at_t.mrr_unrounded, 0)', 2) }}
        end as decimal(18, 2)) as mrr,
        cast(case
            when coalesce(mrr_at_t.has_unconverted, 0) = 0
                then {{ round_half_up('coalesce(mrr_at_t.mrr_unrounded, 0) * 12', 2) }}
        end as decimal(18, 2)) as arr,
        cast(case
            when coalesce(mrr_at_t.mrr_currency_count, 0) <= 1
                then {{ round_half_up('coalesce(mrr_at_t.mrr_native_unrounded, 0)', 2) }}
        end as decimal(18, 2)) as mrr_native,
        cast(case
            when coalesce(mrr_at_t.mrr_currency_count, 0) = 0 then '{{ var("reporting_currency") }}'
            when mrr_at_t.mrr_currency_count = 1 then mrr_at_t.mrr_currency
        end as varchar) as currency,
        coalesce(mrr_at_t.has_unconverted, 0) = 1 as is_fx_missing,
        cast(case
            when coalesce(cash.has_unconverted, 0) = 0 then {{ round_half_up('coalesce(cash.ltv_unrounded, 0)', 2) }}
        end as decimal(18, 2)) as ltv,
        cast(case
            when coalesce(cash.ltv_currency_count, 0) <= 1
                then {{ round_half_up('coalesce(cash.ltv_native_unrounded, 0)', 2) }}
        end as decimal(18, 2)) as ltv_native,
        cast(case
            when coalesce(cash.ltv_currency_count, 0) = 0 then '{{ var("reporting_currency") }}'
            when cash.ltv_currency_count = 1 then cash.ltv_currency
        end as varchar) as ltv_currency,
        coalesce(cash.has_unconverted, 0) = 1 as is_ltv_fx_missing,
        coalesce(mrr_at_t.has_mrr, 0) = 1 as has_mrr,
        coalesce(paid_before.has_paid, 0) = 1 as has_paid,
        trials.email_key is not null as has_trialing_subscription,
        cast(coalesce(counted_subscriptions.subscription_count, 0) as integer) as subscription_count,
        stripe_customers.is_delinquent = 1 as is_delinquent,
        failures.payment_failed_at,
        cast(plans.subscription_status as varchar) as subscription_status,
        cast(plans.plan_name as varchar) as plan_name,
        cast({{ round_half_up('plans.unit_amount_cents / 100.0', 2) }} as decimal(18, 2)) as plan_price,
        cast('stripe' as varchar) as revenue_basis

    from stripe_customers
    left join mrr_at_t
        on stripe_customers.email_key = mrr_at_t.email_key
    left join paid_before
        on stripe_customers.email_key = paid_before.email_key
    left join counted_subscriptions
        on stripe_customers.email_key = counted_subscriptions.email_key
    left join cash
        on stripe_customers.email_key = cash.email_key
    left join failures
        on stripe_customers.email_key = failures.email_key
    left join trials
        on stripe_customers.email_key = trials.email_key
    left join plans
        on stripe_customers.email_key = plans.email_key

)

select * from final
