-- One row per Stripe subscription (from Intercom's "Stripe Subscriptions" attribute): validity, monthly
-- factor, monthly amount in its own currency and in the reporting currency, and whether it counts in MRR.
-- monthly factor: month 1/n, year 1/(12n), week 52/(12n), day 365/(12n) with n = interval_count.
-- Currency (metrics.md): MRR as of T converts at the rate of the first day of T's month (the latest rate in
-- fx_rates on or before it); without any such rate monthly_amount_unrounded is null and is_fx_missing true.

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
    where rate_date <= cast('{{ as_of_date_string()[:7] }}-01' as date)

),

ranked_rates as (

    select
        currency,
        rate_to_reporting,
        row_number() over (partition by currency order by rate_date desc) as rate_rank

    from fx_rates

),

month_rates as (

    select
        currency,
        rate_to_reporting

    from ranked_rates
    where rate_rank = 1

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
            when effective_quantity < 0 then 'negative quantity'
            when effective_interval_count <= 0 then 'non-positive interval_count'
        end as invalid_reason

    from factored

),

converted as (

    select
        validated.*,
        validated.invalid_reason is null as is_valid,
        validated.effective_currency = '{{ var("reporting_currency") }}' as is_reporting_currency,
        case
            when validated.effective_currency = '{{ var("reporting_currency") }}' then 1
            else month_rates.rate_to_reporting
        end as fx_multiplier

    from validated
    left join month_rates
        on validated.effective_currency = month_rates.currency

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
                        ~ ' / (100 * converted.monthly_factor_denominator * converted.effective_interval_count)',
                        10
                    ) }}
                    as decimal(28, 10)
                )
        end as monthly_amount_native_unrounded,
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
        converted.fx_multiplier is null as is_fx_missing,
        converted.created_at,
        converted.current_period_start_at,
        converted.current_period_end_at,
        converted.loaded_at

    from converted
    left join contacts
        on converted.contact_id = contacts.contact_id

)

select * from final
