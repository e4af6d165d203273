-- Revenue per customer (email_key) from the primary contact's Stripe data (metrics.md, Revenue):
-- mrr, arr (from the unrounded mrr), ltv, subscription_count, subscription_status (the best status among the
-- subscriptions in the order of var `subscription_status_order`; the attribute only without any subscription),
-- is_delinquent, payment_failed_at, the plan / last-payment attributes, and next_renewal_date (the earliest
-- current period end of the annual subscriptions counted in MRR).
-- Currency: mrr_native / ltv_native in the customer's currency (`currency` / `ltv_currency`; both null when the
-- amounts are in several currencies: they are never added); mrr (ltv) is null and is_fx_missing
-- (is_ltv_fx_missing) true when a counted amount has no rate. has_mrr / has_paid: MRR > 0 / a net payment > 0
-- in any currency (customer_stage).
-- No Stripe data at all (no stripe id, no subscriptions, no payments): the revenue metrics are null.

{%- set status_order = var('subscription_status_order') %}

with

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}
    where is_primary_contact

),

subscriptions as (

    select * from {{ ref('int_subscriptions_normalized') }}
    where is_primary_contact

),

payments as (

    select * from {{ ref('int_payments_normalized') }}
    where is_primary_contact

),

subscription_totals as (

    select
        email_key,
        count(*) as subscriptions_total,
        sum(case when is_counted_in_mrr then monthly_amount_unrounded end) as mrr_unrounded,
        sum(case when is_counted_in_mrr then monthly_amount_native_unrounded end) as mrr_native_unrounded,
        sum(case when is_counted_in_mrr then 1 else 0 end) as subscription_count,
        count(distinct case when is_counted_in_mrr then currency end) as mrr_currency_count,
        max(case when is_counted_in_mrr and monthly_amount_native_unrounded > 0 then 1 else 0 end) as has_mrr,
        max(case when is_counted_in_mrr then currency end) as mrr_currency,
        min({{ subscription_status_rank('subscription_status') }}) as best_status_rank,
        max(case when is_counted_in_mrr and is_fx_missing then 1 else 0 end) as has_mrr_fx_missing,
        max(case when is_valid and subscription_status = 'trialing' then 1 else 0 end)
            as has_trialing_subscription,
        min(case when is_counted_in_mrr and plan_interval = 'year' then current_period_end_at end)
            as next_annual_renewal_at

    from subscriptions
    group by email_key

),

payment_totals as (

    select
        email_key,
        count(*) as payments_total,
        sum(case when is_counted_in_ltv then net_amount_unrounded end) as ltv_unrounded,
        sum(case when is_counted_in_ltv then net_amount_native_unrounded end) as ltv_native_unrounded,
        count(distinct case when is_counted_in_ltv then currency end) as ltv_currency_count,
        max(case when is_counted_in_ltv and net_amount_native_unrounded > 0 then 1 else 0 end) as has_paid,
        max(case when is_counted_in_ltv then currency end) as ltv_currency,
        max(case when is_counted_in_ltv and is_fx_missing then 1 else 0 end) as has_ltv_fx_missing

    from payments
    group by email_key

),

failed_payments as (

    select
        email_key,
        max(case when payment_status = 'failed' then created_at end) as last_failed_at,
        max(case when payment_status = 'succeeded' then created_at end) as last_succeeded_at

    from payments
    where
        created_at >= {{ dbt.dateadd('day', -1 * var('payment_failure_days'), as_of_timestamp()) }}
        and created_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }}
    group by email_key

),

joined as (

    select
        contacts.email_key,
        contacts.stripe_customer_id,
        contacts.stripe_plan,
        contacts.stripe_plan_price_cents,
        contacts.stripe_subscription_status,
        contacts.is_stripe_delinquent,
        contacts.stripe_last_charge_amount_cents,
        contacts.stripe_last_charge_at,
        subscription_totals.mrr_unrounded,
        subscription_totals.mrr_native_unrounded,
        subscription_totals.subscription_count,
        subscription_totals.subscriptions_total,
        subscription_totals.best_status_rank,
        subscription_totals.next_annual_renewal_at,
        coalesce(subscription_totals.has_mrr_fx_missing, 0) = 1 as is_fx_missing,
        coalesce(subscription_totals.has_trialing_subscription, 0) = 1 as has_trialing_subscription,
        coalesce(subscription_totals.mrr_currency_count, 0) as mrr_currency_count,
        subscription_totals.mrr_currency,
        coalesce(subscription_totals.has_mrr, 0) = 1 as has_mrr,
        coalesce(payment_totals.has_paid, 0) = 1 as has_paid,
        payment_totals.ltv_unrounded,
        payment_totals.ltv_native_unrounded,
        coalesce(payment_totals.has_ltv_fx_missing, 0) = 1 as is_ltv_fx_missing,
        coalesce(payment_totals.ltv_currency_count, 0) as ltv_currency_count,
        payment_totals.ltv_currency,
        case
            when
                failed_payments.last_failed_at is not null
                and (
                    failed_payments.last_succeeded_at is null
                    or failed_payments.last_succeeded_at < failed_payments.last_failed_at
                )
                then failed_payments.last_failed_at
        end as payment_failed_at,
        (
            contacts.stripe_customer_id is not null
            or coalesce(subscription_totals.subscriptions_total, 0) > 0
            or coalesce(payment_totals.payments_total, 0) > 0
        ) as has_stripe_data

    from contacts
    left join subscription_totals
        on contacts.email_key = subscription_totals.email_key
    left join payment_totals
        on contacts.email_key = payment_totals.email_key
    left join failed_payments
        on contacts.email_key = failed_payments.email_key

),

final as (

    select
        email_key,
        has_stripe_data,
        stripe_customer_id,
        case
            when has_stripe_data and not is_fx_missing
                then cast(coalesce(mrr_unrounded, 0) as decimal(28, 10))
        end as mrr_unrounded,
        case
            when has_stripe_data and not is_fx_missing
                then cast({{ round_half_up('coalesce(mrr_unrounded, 0)', 2) }} as decimal(18, 2))
        end as mrr,
        case
            when has_stripe_data and not is_fx_missing
                then cast({{ round_half_up('coalesce(mrr_unrounded, 0) * 12', 2) }} as decimal(18, 2))
        end as arr,
        case
            when has_stripe_data and mrr_currency_count <= 1
                then cast({{ round_half_up('coalesce(mrr_native_unrounded, 0)', 2) }} as decimal(18, 2))
        end as mrr_native,
        case
            when has_stripe_data and mrr_currency_count = 0 then '{{ var("reporting_currency") }}'
            when has_stripe_data and mrr_currency_count = 1 then mrr_currency
        end as currency,
        case when has_stripe_data then has_mrr end as has_mrr,
        case when has_stripe_data then has_paid end as has_paid,
        case when has_stripe_data then is_fx_missing end as is_fx_missing,
        case
            when has_stripe_data and not is_ltv_fx_missing
                then cast({{ round_half_up('coalesce(ltv_unrounded, 0)', 2) }} as decimal(18, 2))
        end as ltv,
        case
            when has_stripe_data and ltv_currency_count <= 1
                then cast({{ round_half_up('coalesce(ltv_native_unrounded, 0)', 2) }} as decimal(18, 2))
        end as ltv_native,
        case
            when has_stripe_data and ltv_currency_count = 0 then '{{ var("reporting_currency") }}'
            when has_stripe_data and ltv_currency_count = 1 then ltv_currency
        end as ltv_currency,
        case when has_stripe_data then is_ltv_fx_missing end as is_ltv_fx_missing,
        case
            when has_stripe_data then cast(coalesce(subscription_count, 0) as integer)
        end as subscription_count,
        case
            when has_stripe_data
                then case
                    when coalesce(subscriptions_total, 0) = 0 then stripe_subscription_status
                    else case best_status_rank
                        {%- for status in status_order %}
                        when {{ loop.index }} then '{{ status }}'
                        {%- endfor %}
                    end
                end
        end as subscription_status,
        case when has_stripe_data then has_trialing_subscription end as has_trialing_subscription,
        payment_failed_at,
        case
            when has_stripe_data then coalesce(is_stripe_delinquent, false)
        end as is_delinquent,
        stripe_plan as plan_name,
        cast({{ round_half_up('stripe_plan_price_cents / 100.0', 2) }} as decimal(18, 2)) as plan_price,
        cast(
            {{ round_half_up('stripe_last_charge_amount_cents / 100.0', 2) }} as decimal(18, 2)
        ) as last_payment_amount,
        cast(stripe_last_charge_at as date) as last_payment_date,
        cast(next_annual_renewal_at as date) as next_renewal_date

    from joined

)

select * from final
