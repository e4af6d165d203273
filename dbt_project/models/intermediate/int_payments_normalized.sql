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
            when payments.amount_refunded_cents < 0 then 'negative refund'
        end as invalid_reason

    from payments

),

dated_rates as (

    select
        validated.dlt_id,
        fx_rates.rate_to_reporting,
        row_number() over (partition by validated.dlt_id order by fx_rates.rate_date desc) as rate_rank

    from validated
    inner join fx_rates
        on
            validated.effective_currency = fx_rates.currency
            and fx_rates.rate_date <= cast(validated.created_at as date)

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
            validated.dlt_id = dated_rates.dlt_id
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
