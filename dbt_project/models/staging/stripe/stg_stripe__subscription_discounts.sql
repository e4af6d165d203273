-- Discounts (coupon, start, end) known for each subscription: the one it carries now and those its
-- invoices carried (a repeating coupon that ran out is gone from the subscription but not from its invoices).
with

subscriptions as (

    {{ source_or_empty('stripe', 'subscriptions', {
        'id': 'varchar',
        'discount__id': 'varchar',
        'discount__start': 'bigint',
        'discount__end': 'bigint',
        'discount__coupon__id': 'varchar',
        'discount__coupon__percent_off': 'double precision',
        'discount__coupon__amount_off': 'bigint',
        'discount__coupon__currency': 'varchar',
        'discount__coupon__duration': 'varchar',
        'discount__coupon__duration_in_months': 'bigint',
    }) }}

),

invoices as (

    {{ source_or_empty('stripe', 'invoices', {
        'subscription': 'varchar',
        'discount__id': 'varchar',
        'discount__start': 'bigint',
        'discount__end': 'bigint',
        'discount__coupon__id': 'varchar',
        'discount__coupon__percent_off': 'double precision',
        'discount__coupon__amount_off': 'bigint',
        'discount__coupon__currency': 'varchar',
        'discount__coupon__duration': 'varchar',
        'discount__coupon__duration_in_months': 'bigint',
    }) }}

),

unioned as (

    select
        id as subscription_id,
        discount__id,
        discount__start,
        discount__end,
        discount__coupon__id,
        discount__coupon__percent_off,
        discount__coupon__amount_off,
        discount__coupon__currency,
        discount__coupon__duration,
        discount__coupon__duration_in_months
    from subscriptions
    where discount__id is not null

    union

    select
        subscription as subscription_id,
        discount__id,
        discount__start,
        discount__end,
        discount__coupon__id,
        discount__coupon__percent_off,
        discount__coupon__amount_off,
        discount__coupon__currency,
        discount__coupon__duration,
        discount__coupon__duration_in_months
    from invoices
    where discount__id is not null and subscription is not null

),

renamed as (

    select distinct
        subscription_id,
        discount__id as discount_id,
        discount__coupon__id as coupon_id,
        cast(discount__coupon__percent_off as decimal(9, 4)) as percent_off,
        discount__coupon__amount_off as amount_off_cents,
        lower(discount__coupon__currency) as coupon_currency,
        lower(discount__coupon__duration) as coupon_duration,
        discount__coupon__duration_in_months as duration_in_months,
        {{ epoch_to_timestamp('discount__start') }} as discount_start_at,
        {{ epoch_to_timestamp('discount__end') }} as discount_end_at

    from unioned

)

select * from renamed
