-- The recurring value (sum of licensed price x quantity x monthly factor, before discounts, in cents of the
-- subscription's currency) of each subscription from each day it changed (metrics.md, Revenue timeline,
-- "History of prices and quantities"). Sources, by precedence on one day:
--   1. today's items, from the later of the current period start and the last dated change;
--   2. customer.subscription.updated events (Stripe keeps 30 days): the items after the change;
--   3. `subscription` lines of paid, open or uncollectible invoices: the value from the line's period start;
--   4. `proration` invoice items of those invoices: a change inside a period, from the item's period start,
--      as the difference of the new and the old items (added to the value before it).
-- Drafts and voided invoices, metered prices and one-time items never count.

with

items as (

    select * from {{ ref('stg_stripe__subscription_items') }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

events as (

    select * from {{ ref('stg_stripe__subscription_events') }}

),

lines as (

    select * from {{ ref('stg_stripe__invoice_lines') }}

),

recurring_lines as (

    select
        subscription_id,
        invoice_id,
        line_type,
        cast(period_start_at as date) as effective_date,
        case when amount_cents < 0 then -1 else 1 end
        * unit_amount_cents * coalesce(quantity, 1)
        * {{ monthly_factor('price_interval', 'price_interval_count') }} as line_value

    from lines
    where
        invoice_status in ('paid', 'open', 'uncollectible')
        and price_type = 'recurring'
        and coalesce(usage_type, 'licensed') = 'licensed'
        and subscription_id is not null
        and (line_type = 'subscription' or (line_type = 'invoiceitem' and is_proration))

),

invoiced as (

    select
        subscription_id,
        effective_date,
        sum(line_value) as recurring_value,
        case when min(line_type) = 'subscription' then 3 else 4 end as precedence

    from recurring_lines
    group by subscription_id, invoice_id, line_type, effective_date

),

evented as (

    select
        subscription_id,
        cast(changed_at as date) as effective_date,
        sum(
            unit_amount_cents * coalesce(quantity, 1)
            * {{ monthly_factor('price_interval', 'price_interval_count') }}
        ) as recurring_value,
        2 as precedence

    from events
    where coalesce(usage_type, 'licensed') = 'licensed'
    group by event_id, subscription_id, cast(changed_at as date)

),

last_invoiced as (

    -- the last dated change per subscription straight from the lines and the events (the latest of them is
    -- the latest row of `invoiced` and `evented`), so that today's items meet one row per subscription and
    -- no invoice rows: joined to those, DuckDB ran out of memory at a million customers
    select
        subscription_id,
        max(effective_date) as last_change_date

    from recurring_lines
    group by subscription_id

),

last_evented as (

    select
        subscription_id,
        max(cast(changed_at as date)) as last_change_date

    from events
    where coalesce(usage_type, 'licensed') = 'licensed'
    group by subscription_id

),

last_changes as (

    select * from last_invoiced
    union all
    select * from last_evented

),

last_change as (

    select
        subscription_id,
        max(last_change_date) as last_change_date

    from last_changes
    group by subscription_id

),

item_values as (

    -- today's items summed per subscription before they meet the subscription and its last change
    select
        subscription_id,
        sum(
            unit_amount_cents * coalesce(quantity, 1)
            * {{ monthly_factor('price_interval', 'price_interval_count') }}
        ) as recurring_value

    from items
    where price_type = 'recurring' and coalesce(usage_type, 'licensed') = 'licensed'
    group by subscription_id

),

current_items as (

    select
        item_values.subscription_id,
        case
            when last_change.last_change_date > cast(subscriptions.current_period_start_at as date)
                then last_change.last_change_date
            else cast(coalesce(subscriptions.current_period_start_at, subscriptions.started_at) as date)
        end as effective_date,
        item_values.recurring_value,
        1 as precedence

    from item_values
    inner join subscriptions
        on item_values.subscription_id = subscriptions.subscription_id
    left join last_change
        on item_values.subscription_id = last_change.subscription_id

),

pieces as (

    select * from current_items
    union all
    select * from evented
    union all
    select * from invoiced

),

ordered as (

    select
        subscription_id,
        effective_date,
        precedence,
        recurring_value,
        -- absolute values (precedence 1-3) start a group; proration differences (4) add to it
        sum(case when precedence < 4 then 1 else 0 end) over (
            partition by subscription_id
            order by effective_date asc, precedence desc
            rows between unbounded preceding and current row
        ) as value_group,
        row_number() over (
            partition by subscription_id, effective_date
            order by precedence asc
        ) as rank_on_day

    from pieces

),

valued as (

    select
        subscription_id,
        effective_date,
        rank_on_day,
        sum(recurring_value) over (
            partition by subscription_id, value_group
            order by effective_date asc, precedence desc
            rows between unbounded preceding and current row
        ) as recurring_value_cents,
        value_group

    from ordered

),

resolved as (

    select
        subscription_id,
        effective_date,
        recurring_value_cents,
        lag(recurring_value_cents) over (
            partition by subscription_id order by effective_date
        ) as previous_value_cents

    from valued
    where rank_on_day = 1 and value_group > 0

),

final as (

    -- only the days the value changed
    select
        subscription_id,
        effective_date,
        cast(recurring_value_cents as decimal(20, 6)) as recurring_value_cents

    from resolved
    where previous_value_cents is null or previous_value_cents != recurring_value_cents

)

select * from final
