-- The subscription's items as they are now (price and quantity), from the subscriptions' items child table.
with

source as (

    {{ source_or_empty('stripe', 'subscriptions__items__data', {
        'id': 'varchar',
        'quantity': 'bigint',
        'price__id': 'varchar',
        'price__unit_amount': 'bigint',
        'price__nickname': 'varchar',
        'price__currency': 'varchar',
        'price__type': 'varchar',
        'price__recurring__interval': 'varchar',
        'price__recurring__interval_count': 'bigint',
        'price__recurring__usage_type': 'varchar',
        '_dlt_parent_id': 'varchar',
    }) }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

renamed as (

    select
        source.id as subscription_item_id,
        subscriptions.subscription_id,
        source.price__id as price_id,
        source.price__unit_amount as unit_amount_cents,
        source.price__nickname as price_nickname,
        lower(source.price__currency) as currency,
        source.quantity,
        lower(source.price__type) as price_type,
        lower(source.price__recurring__interval) as price_interval,
        source.price__recurring__interval_count as price_interval_count,
        lower(source.price__recurring__usage_type) as usage_type

    from source
    inner join subscriptions
        on source._dlt_parent_id = subscriptions.dlt_id

)

select * from renamed
