-- Revenue per customer (email_key) from the primary contact's Stripe data (metrics.md, Revenue):
-- mrr, arr (from the unrounded mrr), ltv, subscription_count, subscription_status (attribute, else the best
-- subscription status), is_delinquent, the plan / last-payment attributes, and next_renewal_date (the earliest
-- current period end of the annual subscriptions counted in MRR).
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
        sum(case when is_counted_in_mrr then 1 else 0 end) as subscription_count,
        min(
            case
                {%- for status in status_order %}
                when is_valid and subscription_status = '{{ status }}' then {{ loop.index }}
                {%- endfor %}
            end
        ) as best_status_rank,
        max(case when is_counted_in_mrr and is_unconverted_foreign_currency then 1 else 0 end)
            as has_unconverted_subscription,
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
        max(case when is_counted_in_ltv and is_unconverted_foreign_currency then 1 else 0 end)
            as has_unconverted_payment

    from payments
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
        subscription_totals.subscription_count,
        subscription_totals.best_status_rank,
        subscription_totals.next_annual_renewal_at,
        payment_totals.ltv_unrounded,
        (
            contacts.stripe_customer_id is not null
            or coalesce(subscription_totals.subscriptions_total, 0) > 0
            or coalesce(payment_totals.payments_total, 0) > 0
        ) as has_stripe_data,
        (
            coalesce(subscription_totals.has_unconverted_subscription, 0) = 1
            or coalesce(payment_totals.has_unconverted_payment, 0) = 1
        ) as has_foreign_currency

    from contacts
    left join subscription_totals
        on contacts.email_key = subscription_totals.email_key
    left join payment_totals
        on contacts.email_key = payment_totals.email_key

),

final as (

    select
        email_key,
        has_stripe_data,
        stripe_customer_id,
        case
            when has_stripe_data
                then cast(coalesce(mrr_unrounded, 0) as decimal(28, 10))
        end as mrr_unrounded,
        case
            when has_stripe_data
                then cast({{ round_half_up('coalesce(mrr_unrounded, 0)', 2) }} as decimal(18, 2))
        end as mrr,
        case
            when has_stripe_data
                then cast({{ round_half_up('coalesce(mrr_unrounded, 0) * 12', 2) }} as decimal(18, 2))
        end as arr,
        case
            when has_stripe_data
                then cast({{ round_half_up('coalesce(ltv_unrounded, 0)', 2) }} as decimal(18, 2))
        end as ltv,
        case
            when has_stripe_data then cast(coalesce(subscription_count, 0) as integer)
        end as subscription_count,
        case
            when has_stripe_data
                then coalesce(
                    stripe_subscription_status,
                    case best_status_rank
                        {%- for status in status_order %}
                        when {{ loop.index }} then '{{ status }}'
                        {%- endfor %}
                    end
                )
        end as subscription_status,
        case
            when has_stripe_data then coalesce(is_stripe_delinquent, false)
        end as is_delinquent,
        has_foreign_currency,
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
