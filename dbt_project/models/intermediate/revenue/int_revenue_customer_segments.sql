-- m(c, d) as pieces: from `valid_from` until `valid_to` (exclusive; null = still so at T), the MRR of a
-- customer (customer_key: the Stripe customer's email_key, so several Stripe customers with one email add up;
-- `stripe:<id>` without a valid email) in one currency, in cents. Only days up to T exist: a piece that
-- starts after T is invisible.

with

subscription_segments as (

    select * from {{ ref('int_stripe_subscription_segments') }}

),

subscription_pieces as (

    select
        subscription_id,
        customer_key,
        currency,
        valid_from,
        lead(valid_from) over (partition by subscription_id order by valid_from) as valid_to,
        mrr_cents

    from subscription_segments

),

boundaries as (

    select distinct
        customer_key,
        currency,
        valid_from

    from subscription_segments
    where valid_from <= {{ as_of_date() }}

),

summed as (

    select
        boundaries.customer_key,
        boundaries.currency,
        boundaries.valid_from,
        sum(subscription_pieces.mrr_cents) as mrr_cents

    from boundaries
    inner join subscription_pieces
        on
            boundaries.customer_key = subscription_pieces.customer_key
            and boundaries.currency = subscription_pieces.currency
            and boundaries.valid_from >= subscription_pieces.valid_from
            and (subscription_pieces.valid_to is null or boundaries.valid_from < subscription_pieces.valid_to)
    group by boundaries.customer_key, boundaries.currency, boundaries.valid_from

),

changes as (

    select
        *,
        lag(mrr_cents) over (partition by customer_key, currency order by valid_from) as previous_mrr_cents

    from summed

),

kept as (

    select *
    from changes
    where previous_mrr_cents is null or previous_mrr_cents != mrr_cents

),

final as (

    select
        customer_key,
        currency,
        valid_from,
        lead(valid_from) over (partition by customer_key, currency order by valid_from) as valid_to,
        cast(mrr_cents as decimal(20, 6)) as mrr_cents,
        cast(coalesce(previous_mrr_cents, 0) as decimal(20, 6)) as previous_mrr_cents

    from kept

)

select * from final
