-- Amounts left out of every reporting-currency total for T because their currency has no rate in fx_rates
-- (metrics.md, Currency): one row per (amount, currency) with the native sum and the customers concerned, in
-- the health scope and overall. mrr: subscriptions counted in MRR; ltv: payments counted in LTV. Totals
-- (dashboard_summary, reports, digests, the API) show these beside them; `gtm build` ends with a warning
-- naming the currencies.

with

customers as (

    select * from {{ ref('unified_customers') }}

),

subscriptions as (

    select * from {{ ref('int_subscriptions_normalized') }}
    where is_counted_in_mrr and is_fx_missing

),

payments as (

    select * from {{ ref('int_payments_normalized') }}
    where is_counted_in_ltv and is_fx_missing and is_primary_contact

),

amounts as (

    select
        'mrr' as amount,
        email_key,
        currency,
        monthly_amount_native_unrounded as native_amount

    from subscriptions

    union all

    select
        'ltv' as amount,
        email_key,
        currency,
        net_amount_native_unrounded as native_amount

    from payments

),

scoped as (

    select
        amounts.*,
        customers.is_in_health_scope

    from amounts
    inner join customers
        on amounts.email_key = customers.email_key

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(amount as varchar) as amount,
        cast(currency as varchar) as currency,
        cast(count(distinct email_key) as integer) as customers,
        cast({{ round_half_up('sum(native_amount)', 2) }} as decimal(18, 2)) as native_amount,
        cast(count(distinct case when is_in_health_scope then email_key end) as integer) as scope_customers,
        cast(
            {{ round_half_up('coalesce(sum(case when is_in_health_scope then native_amount end), 0)', 2) }}
            as decimal(18, 2)
        ) as scope_native_amount

    from scoped
    group by amount, currency

)

select * from final
