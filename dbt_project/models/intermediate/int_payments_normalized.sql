-- One row per Stripe payment (from Intercom's "Stripe Payments" attribute): validity and net amount
-- (amount - refunded) in the reporting currency.

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

converted as (

    select
        validated.*,
        fx_rates.rate_to_reporting,
        case
            when validated.effective_currency = '{{ var("reporting_currency") }}' then 1
            when fx_rates.rate_to_reporting is not null then fx_rates.rate_to_reporting
            else 1
        end as fx_multiplier

    from validated
    left join fx_rates
        on validated.effective_currency = lower(fx_rates.currency)

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
                        ~ ' * converted.fx_multiplier / 100',
                        10
                    ) }}
                    as decimal(28, 10)
                )
        end as net_amount_unrounded,
        converted.invalid_reason is null
        and converted.payment_status = 'succeeded' as is_counted_in_ltv,
        converted.effective_currency != '{{ var("reporting_currency") }}'
        and converted.rate_to_reporting is null as is_unconverted_foreign_currency,
        converted.created_at,
        converted.loaded_at

    from converted
    left join contacts
        on converted.contact_id = contacts.contact_id

)

select * from final
