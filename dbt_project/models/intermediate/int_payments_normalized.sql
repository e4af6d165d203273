-- One row per Stripe payment (from Intercom's "Stripe Payments" attribute): validity and net amount
-- (amount - refunded) in its own currency and in the reporting currency, converted at the latest rate in
-- fx_rates on or before the payment's own date (metrics.md, Currency); without one the reporting amount
-- is null and is_fx_missing true.

with

payments as (

    select * from {{ ref('stg_intercom__payments') }}

),

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

validated as (

    select
        payments.*,
        coalesce(payments.currency, '{{ var("reporting_currency") }}') as effective_currency,
        case
            when payments.amount_cents is null then 'missing amount'
            when payments.amount_cents < 0 then 'negative amount'
            when payments.amount_cents > {{ var('max_amount_cents') }} then 'implausible amount'
            when payments.amount_refunded_cents < 0 then 'negative refund'
            when payments.amount_refunded_cents > {{ var('max_amount_cents') }} then 'implausible refund'
        end as invalid_reason

    from payments

),

payment_days as (

    -- the rate depends on the currency and the day only: rank the rates once per (currency, day) paid in,
    -- not once per payment (the inequality join below is then as small as the days, whatever the payments)
    select distinct
        effective_currency as currency,
        cast(created_at as date) as payment_date

    from validated
    where effective_currency != '{{ var("reporting_currency") }}'

),

dated_rates as (

    select
        payment_days.currency,
        payment_days.payment_date,
        fx_rates.rate_to_reporting,
        row_number() over (
            partition by payment_days.currency, payment_days.payment_date
            order by fx_rates.rate_date desc
        ) as rate_rank

    from payment_days
    inner join fx_rates
        on
            payment_days.currency = fx_rates.currency
            and payment_days.payment_date >= fx_rates.rate_date

),

converted as (

    select
        validated.*,
        case
            when validated.effective_currency = '{{ var("reporting_currency") }}' then 1
            else dated_rates.rate_to_reporting
        end as fx_multiplier

    from validated
    left join dated_rates
        on
            validated.effective_currency = dated_rates.currency
            and cast(validated.created_at as date) = dated_rates.payment_date
            and dated_rates.rate_rank = 1

),

final as (

    select
        converted.payment_id,
        converted.dlt_id,
        converted.contact_id,
        contacts.email_key,
        coalesce(contacts.is_primary_contact, false) as is_primary_contact,
        converted.payment_status,
        converted.amount_cents,
        converted.amount_refunded_cents,
        converted.effective_currency as currency,
        converted.invalid_reason is null as is_valid,
        converted.invalid_reason,
        case
            when converted.invalid_reason is null
                then cast(
                    {{ round_half_up(
                        'cast(converted.amount_cents - coalesce(converted.amount_refunded_cents, 0) as decimal(38, 10))'
                        ~ ' / 100',
                        10
                    ) }}
                    as decimal(28, 10)
                )
        end as net_amount_native_unrounded,
        case
            when converted.invalid_reason is null
                then cast(
                    {{ round_half_up(
                        'cast(converted.amount_cents - coalesce(converted.amount_refunded_cents, 0) as decimal(38, 10))'
                        ~ ' * converted.fx_multiplier / 100',
                        10
                    ) }}
                    as decimal(28, 10)
                )
        end as net_amount_unrounded,
        converted.invalid_reason is null
        and converted.payment_status = 'succeeded' as is_counted_in_ltv,
        converted.fx_multiplier is null as is_fx_missing,
        converted.created_at,
        converted.loaded_at

    from converted
    left join contacts
        on converted.contact_id = contacts.contact_id

)

select * from final
