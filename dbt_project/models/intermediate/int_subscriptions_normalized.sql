-- One row per Stripe subscription (from Intercom's "Stripe Subscriptions" attribute): validity, monthly
-- factor, monthly amount in the reporting currency, and whether it counts in MRR.
-- monthly factor: month 1/n, year 1/(12n), week 52/(12n), day 365/(12n) with n = interval_count.

{%- set mrr_statuses = var('mrr_statuses') %}

with

subscriptions as (

    select * from {{ ref('stg_intercom__subscriptions') }}

),

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

factored as (

    select
        subscriptions.*,
        coalesce(subscriptions.quantity, 1) as effective_quantity,
        coalesce(subscriptions.plan_interval_count, 1) as effective_interval_count,
        coalesce(subscriptions.currency, '{{ var("reporting_currency") }}') as effective_currency,
        case subscriptions.plan_interval
            when 'month' then 1
            when 'year' then 1
            when 'week' then 52
            when 'day' then 365
        end as monthly_factor_numerator,
        case subscriptions.plan_interval
            when 'month' then 1
            when 'year' then 12
            when 'week' then 12
            when 'day' then 12
        end as monthly_factor_denominator

    from subscriptions

),

validated as (

    select
        *,
        case
            when monthly_factor_numerator is null then 'unknown interval'
            when plan_amount_cents is null then 'missing amount'
            when plan_amount_cents < 0 then 'negative amount'
            when plan_amount_cents > {{ var('max_amount_cents') }} then 'implausible amount'
            when effective_quantity < 0 then 'negative quantity'
            when effective_quantity > {{ var('max_quantity') }} then 'implausible quantity'
            when effective_interval_count <= 0 then 'non-positive interval_count'
        end as invalid_reason

    from factored

),

converted as (

    select
        validated.*,
        validated.invalid_reason is null as is_valid,
        validated.effective_currency = '{{ var("reporting_currency") }}' as is_reporting_currency,
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
        converted.subscription_id,
        converted.dlt_id,
        converted.contact_id,
        contacts.email_key,
        coalesce(contacts.is_primary_contact, false) as is_primary_contact,
        converted.subscription_status,
        converted.plan_id,
        converted.plan_nickname,
        converted.plan_interval,
        converted.plan_interval_count,
        converted.quantity,
        converted.effective_quantity,
        converted.plan_amount_cents,
        converted.effective_currency as currency,
        converted.is_valid,
        converted.invalid_reason,
        cast(
            {{ round_half_up('1.0 * converted.monthly_factor_numerator / (converted.monthly_factor_denominator * converted.effective_interval_count)', 10) }}
            as decimal(20, 10)
        ) as monthly_factor,
        case
            when converted.is_valid
                then cast(
                    {{ round_half_up(
                        'cast(converted.plan_amount_cents * converted.effective_quantity * converted.monthly_factor_numerator as decimal(38, 10))'
                        ~ ' * converted.fx_multiplier'
                        ~ ' / (100 * converted.monthly_factor_denominator * converted.effective_interval_count)',
                        10
                    ) }}
                    as decimal(28, 10)
                )
        end as monthly_amount_unrounded,
        converted.is_valid
        and converted.subscription_status in ('{{ mrr_statuses | join("', '") }}') as is_mrr_status,
        converted.is_valid
        and converted.subscription_status in ('{{ mrr_statuses | join("', '") }}')
        and coalesce(contacts.is_primary_contact, false) as is_counted_in_mrr,
        not converted.is_reporting_currency
        and converted.rate_to_reporting is null as is_unconverted_foreign_currency,
        converted.created_at,
        converted.current_period_start_at,
        converted.current_period_end_at,
        converted.loaded_at

    from converted
    left join contacts
        on converted.contact_id = contacts.contact_id

)

select * from final
