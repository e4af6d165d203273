-- Reconciliation with ChartMogul (metrics.md, Revenue timeline): per customer, month and currency, our
-- business movements (native, fx excluded) against ChartMogul's activities, labelled `match` when they
-- differ by at most var `reconciliation_tolerance`, else by the setting that explains the difference:
-- `churn_timing` (between a cancellation and the end of the last invoiced period: ChartMogul churns at
-- that end), `discount` (while a coupon lasts, and for a year after a `once` coupon: ChartMogul nets the
-- invoice), `trial` (the month after a trial ends), `unpaid_policy` (after an invoice was marked
-- uncollectible: ChartMogul keeps unpaid subscriptions until canceled), else `unexplained`.

{%- set tolerance = var('reconciliation_tolerance') %}

with

movements as (

    select * from {{ ref('int_revenue_movements') }}

),

activities as (

    select * from {{ ref('stg_chartmogul__activities') }}

),

stripe_customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

discounts as (

    select * from {{ ref('stg_stripe__subscription_discounts') }}

),

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

customer_keys as (

    select
        stripe_customer_id,
        case
            when is_valid_email then email_key
            else {{ dbt.concat(["'stripe:'", 'stripe_customer_id']) }}
        end as customer_key

    from stripe_customers

),

ours as (

    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'movement_date') }} as date) as month_start,
        currency,
        sum(amount_native) as our_movement

    from movements
    where movement_type != 'fx'
    group by customer_key, {{ dbt.date_trunc('month', 'movement_date') }}, currency

),

theirs as (

    select
        customer_keys.customer_key,
        cast({{ dbt.date_trunc('month', 'activities.activity_date') }} as date) as month_start,
        activities.currency,
        sum(activities.movement_cents) / 100.0 as chartmogul_movement

    from activities
    inner join customer_keys
        on activities.stripe_customer_id = customer_keys.stripe_customer_id
    where activities.activity_date <= {{ as_of_date() }}
    group by customer_keys.customer_key, {{ dbt.date_trunc('month', 'activities.activity_date') }}, activities.currency

),

compared as (

    select
        coalesce(ours.customer_key, theirs.customer_key) as customer_key,
        coalesce(ours.month_start, theirs.month_start) as month_start,
        coalesce(ours.currency, theirs.currency) as currency,
        coalesce(ours.our_movement, 0) as our_movement,
        coalesce(theirs.chartmogul_movement, 0) as chartmogul_movement

    from ours
    full outer join theirs
        on
            ours.customer_key = theirs.customer_key
            and ours.month_start = theirs.month_start
            and ours.currency = theirs.currency

),

service_ends as (

    select
        subscription_id,
        max(cast(period_end_at as date)) as last_service_end_date

    from {{ ref('stg_stripe__invoice_lines') }}
    where line_type = 'subscription' and invoice_status in ('paid', 'open', 'uncollectible')
    group by subscription_id

),

facts as (

    -- what explains a difference, per customer, over the days it can show: [fact_from, fact_until)
    select
        customer_keys.customer_key,
        1 as reason_rank,
        cast(coalesce(subscriptions.canceled_at, subscriptions.ended_at) as date) as fact_from,
        {{ dbt.dateadd('day', 1, "coalesce(service_ends.last_service_end_date, cast(subscriptions.ended_at as date), " ~ as_of_date() ~ ")") }}
            as fact_until

    from subscriptions
    inner join customer_keys
        on subscriptions.stripe_customer_id = customer_keys.stripe_customer_id
    left join service_ends
        on subscriptions.subscription_id = service_ends.subscription_id
    where coalesce(subscriptions.canceled_at, subscriptions.ended_at) is not null

    union all

    select
        customer_keys.customer_key,
        2 as reason_rank,
        cast(discounts.discount_start_at as date) as fact_from,
        case
            when discounts.coupon_duration = 'once'
                then {{ dbt.dateadd('month', 13, 'cast(discounts.discount_start_at as date)') }}
            when discounts.discount_end_at is not null
                then {{ dbt.dateadd('month', 1, 'cast(discounts.discount_end_at as date)') }}
            else cast('9999-12-31' as date)
        end as fact_until

    from discounts
    inner join subscriptions
        on discounts.subscription_id = subscriptions.subscription_id
    inner join customer_keys
        on subscriptions.stripe_customer_id = customer_keys.stripe_customer_id

    union all

    select
        customer_keys.customer_key,
        3 as reason_rank,
        cast(subscriptions.trial_ended_at as date) as fact_from,
        {{ dbt.dateadd('month', 1, 'cast(subscriptions.trial_ended_at as date)') }} as fact_until

    from subscriptions
    inner join customer_keys
        on subscriptions.stripe_customer_id = customer_keys.stripe_customer_id
    where subscriptions.trial_ended_at is not null

    union all

    select
        customer_keys.customer_key,
        4 as reason_rank,
        cast(invoices.marked_uncollectible_at as date) as fact_from,
        cast('9999-12-31' as date) as fact_until

    from invoices
    inner join customer_keys
        on invoices.stripe_customer_id = customer_keys.stripe_customer_id
    where invoices.marked_uncollectible_at is not null

),

explained as (

    select
        compared.customer_key,
        compared.month_start,
        compared.currency,
        min(facts.reason_rank) as reason_rank

    from compared
    inner join facts
        on
            compared.customer_key = facts.customer_key
            and facts.fact_from < {{ dbt.dateadd('month', 1, 'compared.month_start') }}
            and compared.month_start < facts.fact_until
    group by compared.customer_key, compared.month_start, compared.currency

),

final as (

    select
        cast(compared.customer_key as varchar) as customer_key,
        cast(compared.month_start as date) as month_start,
        cast(compared.currency as varchar) as currency,
        cast(compared.our_movement as decimal(20, 2)) as our_movement,
        cast(compared.chartmogul_movement as decimal(20, 2)) as chartmogul_movement,
        cast(compared.our_movement - compared.chartmogul_movement as decimal(20, 2)) as difference,
        cast(case
            when abs(compared.our_movement - compared.chartmogul_movement) <= {{ tolerance }} then 'match'
            when explained.reason_rank = 1 then 'churn_timing'
            when explained.reason_rank = 2 then 'discount'
            when explained.reason_rank = 3 then 'trial'
            when explained.reason_rank = 4 then 'unpaid_policy'
            else 'unexplained'
        end as varchar) as reconciliation_label

    from compared
    left join explained
        on
            compared.customer_key = explained.customer_key
            and compared.month_start = explained.month_start
            and compared.currency = explained.currency

)

select * from final
