-- customer.subscription.updated events (Stripe keeps 30 days): the subscription's items right after each
-- change, one row per item. They date changes made inside the current period, which no invoice shows yet.
with

events as (

    {{ source_or_empty('stripe', 'subscription_events', {
        'id': 'varchar',
        'type': 'varchar',
        'created': 'bigint',
        'data__object__id': 'varchar',
        'data__object__status': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

items as (

    {{ source_or_empty('stripe', 'subscription_events__data__object__items__data', {
        'id': 'varchar',
        'quantity': 'bigint',
        'price__id': 'varchar',
        'price__unit_amount': 'bigint',
        'price__currency': 'varchar',
        'price__recurring__interval': 'varchar',
        'price__recurring__interval_count': 'bigint',
        'price__recurring__usage_type': 'varchar',
        '_dlt_parent_id': 'varchar',
    }) }}

),

renamed as (

    select
        events.id as event_id,
        events.data__object__id as subscription_id,
        lower(events.data__object__status) as subscription_status,
        {{ epoch_to_timestamp('events.created') }} as changed_at,
        items.id as subscription_item_id,
        items.price__id as price_id,
        items.price__unit_amount as unit_amount_cents,
        lower(items.price__currency) as currency,
        items.quantity,
        lower(items.price__recurring__interval) as price_interval,
        items.price__recurring__interval_count as price_interval_count,
        lower(items.price__recurring__usage_type) as usage_type

    from events
    inner join items
        on events._dlt_id = items._dlt_parent_id
    where events.type = 'customer.subscription.updated'

)

select * from renamed
