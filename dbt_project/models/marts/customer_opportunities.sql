-- One row per (customer, open opportunity) for T (metrics.md, At risk, exit state and actions). Phase 1-2:
-- trial_conversion (a trialing customer: the trial to convert) and second_subscription (a paying customer
-- with a trialing subscription beside the paid ones). estimated_mrr is the trialing plans' monthly amount, in
-- the reporting currency (null when their currency has no rate; estimated_mrr_native keeps it). Phase 3:
-- seat_expansion and credits_running_low from product data (int_product_opportunities_identified, doc block
-- `product_usage`) for customers in the health scope, valued in the reporting currency.

{{ config(indexes=postgres_indexes(['email_key'])) }}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

product_opportunities as (

    select * from {{ ref('int_product_opportunities_identified') }}

),

subscriptions as (

    select * from {{ ref('int_subscriptions_normalized') }}
    where is_primary_contact and is_valid and subscription_status = 'trialing'

),

trials as (

    select
        email_key,
        count(*) as trialing_subscriptions,
        sum(monthly_amount_unrounded) as trial_mrr_unrounded,
        sum(monthly_amount_native_unrounded) as trial_mrr_native_unrounded,
        max(case when is_fx_missing then 1 else 0 end) as has_fx_missing,
        count(distinct currency) as currency_count,
        max(currency) as currency

    from subscriptions
    group by email_key

),

opportunities as (

    select
        customers.email_key,
        case customers.customer_stage
            when 'trialing' then 'trial_conversion'
            else 'second_subscription'
        end as opportunity,
        trials.trialing_subscriptions,
        case when trials.has_fx_missing = 0 then trials.trial_mrr_unrounded end as estimated_mrr_unrounded,
        case when trials.currency_count = 1 then trials.trial_mrr_native_unrounded end
            as estimated_mrr_native_unrounded,
        case when trials.currency_count = 1 then trials.currency end as currency,
        customers.as_of_date

    from customers
    inner join trials
        on customers.email_key = trials.email_key
    where customers.customer_stage in ('trialing', 'paying')

),

product as (

    select
        product_opportunities.email_key,
        product_opportunities.opportunity,
        product_opportunities.detail,
        product_opportunities.estimated_value,
        customers.as_of_date

    from product_opportunities
    inner join customers
        on product_opportunities.email_key = customers.email_key
    where customers.is_in_health_scope

),

final as (

    select
        cast(email_key as varchar) as email_key,
        cast(opportunity as varchar) as opportunity,
        cast(
            {{ dbt.concat([
                "cast(trialing_subscriptions as varchar)", "' trialing subscription(s)'",
            ]) }} as varchar
        ) as detail,
        cast({{ round_half_up('estimated_mrr_unrounded', 2) }} as decimal(18, 2)) as estimated_mrr,
        cast({{ round_half_up('estimated_mrr_native_unrounded', 2) }} as decimal(18, 2)) as estimated_mrr_native,
        cast(currency as varchar) as currency,
        cast(as_of_date as date) as as_of_date

    from opportunities

    union all

    select
        cast(email_key as varchar) as email_key,
        cast(opportunity as varchar) as opportunity,
        cast(detail as varchar) as detail,
        cast(estimated_value as decimal(18, 2)) as estimated_mrr,
        cast(estimated_value as decimal(18, 2)) as estimated_mrr_native,
        cast(case when estimated_value is not null then '{{ var("reporting_currency") }}' end as varchar)
            as currency,
        cast(as_of_date as date) as as_of_date

    from product

)

select * from final
