-- m per subscription as pieces: from `valid_from` (a UTC day) until the next piece, the subscription's MRR
-- in cents of its currency (metrics.md, Revenue timeline). A subscription counts on the days d with
-- start <= d < end: start = the later of its start and its trial end; end per var `churn_recognition`;
-- cut short by unpaid (from the day its invoice was marked uncollectible), incomplete and paused (never);
-- past_due days count when past_due is in var `mrr_statuses`, until var `past_due_churn_days` after the first
-- failed payment of the invoice when that var is set. Discounts (var `mrr_apply_discounts`): percent_off,
-- or amount_off spread over the billing interval, while the coupon lasts; `once` coupons never count.

{%- set statuses = var('mrr_statuses') %}
{%- set past_due_days = var('past_due_churn_days') %}
{%- set recognition = var('churn_recognition') %}
{%- if recognition not in ['ended_at', 'cancellation', 'service_period_end'] %}
    {{ exceptions.raise_compiler_error("var churn_recognition must be ended_at, cancellation or service_period_end, not " ~ recognition) }}
{%- endif %}

with

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

prices as (

    select * from {{ ref('int_stripe_subscription_prices') }}

),

discounts as (

    select * from {{ ref('stg_stripe__subscription_discounts') }}

),

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

lines as (

    select * from {{ ref('stg_stripe__invoice_lines') }}

),

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

items as (

    select * from {{ ref('stg_stripe__subscription_items') }}

),

billing_interval as (

    select
        subscription_id,
        max({{ monthly_factor('price_interval', 'price_interval_count') }}) as monthly_factor

    from items
    where price_type = 'recurring' and coalesce(usage_type, 'licensed') = 'licensed'
    group by subscription_id

),

service_periods as (

    select
        subscription_id,
        max(cast(period_end_at as date)) as last_service_end_date

    from lines
    where
        line_type = 'subscription'
        and invoice_status in ('paid', 'open', 'uncollectible')
        and coalesce(usage_type, 'licensed') = 'licensed'
        and amount_cents > 0
    group by subscription_id

),

failed_charges as (

    select
        invoice_id,
        min(cast(created_at as date)) as first_failed_date,
        max(cast(created_at as date)) as last_failed_date

    from charges
    where charge_status = 'failed' and invoice_id is not null
    group by invoice_id

),

dunning as (

    select
        invoices.subscription_id,
        failed_charges.first_failed_date,
        failed_charges.last_failed_date,
        cast(invoices.paid_at as date) as paid_date,
        cast(invoices.marked_uncollectible_at as date) as uncollectible_date

    from invoices
    inner join failed_charges
        on invoices.invoice_id = failed_charges.invoice_id
    where invoices.subscription_id is not null and invoices.invoice_status != 'void'

),

unpaid_since as (

    select
        subscriptions.subscription_id,
        coalesce(
            min(dunning.uncollectible_date),
            case when subscriptions.subscription_status = 'unpaid' then max(dunning.last_failed_date) end,
            case when subscriptions.subscription_status = 'unpaid' then cast(subscriptions.current_period_start_at as date) end
        ) as unpaid_date

    from subscriptions
    left join dunning
        on subscriptions.subscription_id = dunning.subscription_id
    group by subscriptions.subscription_id, subscriptions.subscription_status, subscriptions.current_period_start_at

),

exclusions as (

    -- days a past_due invoice keeps out of MRR: [from, until), until open-ended while unpaid
    select
        subscription_id,
        {%- if 'past_due' not in statuses %}
        first_failed_date as excluded_from,
        {%- elif past_due_days is not none %}
        {{ dbt.dateadd('day', past_due_days | int, 'first_failed_date') }} as excluded_from,
        {%- else %}
        cast(null as date) as excluded_from,
        {%- endif %}
        coalesce(paid_date, uncollectible_date) as excluded_until

    from dunning

),

windows as (

    select
        subscriptions.subscription_id,
        subscriptions.stripe_customer_id,
        subscriptions.currency,
        case
            when subscriptions.trial_ended_at > subscriptions.started_at then cast(subscriptions.trial_ended_at as date)
            else cast(subscriptions.started_at as date)
        end as window_start,
        case
            when subscriptions.subscription_status in ('incomplete', 'incomplete_expired')
                then cast(subscriptions.started_at as date)
            when subscriptions.subscription_status = 'paused'
                then cast(subscriptions.current_period_start_at as date)
            {%- if recognition == 'cancellation' %}
            when subscriptions.canceled_at is not null or subscriptions.ended_at is not null
                then {{ least_date('cast(coalesce(subscriptions.canceled_at, subscriptions.ended_at) as date)', 'unpaid_since.unpaid_date') }}
            {%- elif recognition == 'service_period_end' %}
            when subscriptions.ended_at is not null
                then {{ least_date('coalesce(service_periods.last_service_end_date, cast(subscriptions.ended_at as date))', 'unpaid_since.unpaid_date') }}
            {%- else %}
            when subscriptions.ended_at is not null
                then {{ least_date('cast(subscriptions.ended_at as date)', 'unpaid_since.unpaid_date') }}
            {%- endif %}
            else unpaid_since.unpaid_date
        end as window_end,
        service_periods.last_service_end_date

    from subscriptions
    left join unpaid_since
        on subscriptions.subscription_id = unpaid_since.subscription_id
    left join service_periods
        on subscriptions.subscription_id = service_periods.subscription_id

),

boundaries as (

    select
        subscription_id,
        effective_date as boundary_date
    from prices
    union
    select
        subscription_id,
        window_start as boundary_date
    from windows
    union
    select
        subscription_id,
        window_end as boundary_date
    from windows
    where window_end is not null
    union
    select
        subscription_id,
        excluded_from as boundary_date
    from exclusions
    where excluded_from is not null
    union
    select
        subscription_id,
        excluded_until as boundary_date
    from exclusions
    where excluded_from is not null and excluded_until is not null
    {%- if var('mrr_apply_discounts') %}
    union
    select
        subscription_id,
        cast(discount_start_at as date) as boundary_date
    from discounts
    union
    select
        subscription_id,
        cast(discount_end_at as date) as boundary_date
    from discounts
    where discount_end_at is not null
    {%- endif %}

),

priced as (

    -- the price piece in effect at each boundary (the first one before it starts)
    select
        boundaries.subscription_id,
        boundaries.boundary_date,
        coalesce(
            max(case when prices.effective_date <= boundaries.boundary_date then prices.effective_date end),
            min(prices.effective_date)
        ) as price_date

    from boundaries
    inner join prices
        on boundaries.subscription_id = prices.subscription_id
    group by boundaries.subscription_id, boundaries.boundary_date

),

discounted as (

    select
        priced.subscription_id,
        priced.boundary_date,
        max(discounts.percent_off) as percent_off,
        max(discounts.amount_off_cents) as amount_off_cents

    from priced
    inner join discounts
        on
            priced.subscription_id = discounts.subscription_id
            and cast(discounts.discount_start_at as date) <= priced.boundary_date
            and (discounts.discount_end_at is null or priced.boundary_date < cast(discounts.discount_end_at as date))
            and discounts.coupon_duration in ('forever', 'repeating')
    group by priced.subscription_id, priced.boundary_date

),

excluded as (

    select distinct
        priced.subscription_id,
        priced.boundary_date

    from priced
    inner join exclusions
        on
            priced.subscription_id = exclusions.subscription_id
            and priced.boundary_date >= exclusions.excluded_from
            and (exclusions.excluded_until is null or priced.boundary_date < exclusions.excluded_until)

),

valued as (

    select
        windows.subscription_id,
        windows.stripe_customer_id,
        windows.currency,
        priced.boundary_date as valid_from,
        case
            when priced.boundary_date < windows.window_start then 0
            when windows.window_end is not null and priced.boundary_date >= windows.window_end then 0
            when excluded.subscription_id is not null then 0
            {%- if var('mrr_apply_discounts') %}
            when discounted.percent_off is not null
                then prices.recurring_value_cents * (100 - discounted.percent_off) / 100
            when discounted.amount_off_cents is not null
                then case
                    when prices.recurring_value_cents > discounted.amount_off_cents * billing_interval.monthly_factor
                        then prices.recurring_value_cents - discounted.amount_off_cents * billing_interval.monthly_factor
                    else 0
                end
            {%- endif %}
            else prices.recurring_value_cents
        end as mrr_cents

    from priced
    inner join windows
        on priced.subscription_id = windows.subscription_id
    inner join prices
        on priced.subscription_id = prices.subscription_id and priced.price_date = prices.effective_date
    left join discounted
        on priced.subscription_id = discounted.subscription_id and priced.boundary_date = discounted.boundary_date
    left join excluded
        on priced.subscription_id = excluded.subscription_id and priced.boundary_date = excluded.boundary_date
    left join billing_interval
        on priced.subscription_id = billing_interval.subscription_id

),

changes as (

    select
        *,
        lag(mrr_cents) over (partition by subscription_id order by valid_from) as previous_mrr_cents

    from valued

),

final as (

    select
        changes.subscription_id,
        changes.stripe_customer_id,
        case
            when customers.is_valid_email then customers.email_key
            else {{ dbt.concat(["'stripe:'", 'changes.stripe_customer_id']) }}
        end as customer_key,
        changes.currency,
        changes.valid_from,
        cast(changes.mrr_cents as decimal(20, 6)) as mrr_cents

    from changes
    left join customers
        on changes.stripe_customer_id = customers.stripe_customer_id
    where
        (changes.previous_mrr_cents is null and changes.mrr_cents != 0)
        or changes.previous_mrr_cents != changes.mrr_cents

)

select * from final
