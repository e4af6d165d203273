with

source as (

    {{ source_or_empty('stripe', 'refunds', {
        'id': 'varchar',
        'charge': 'varchar',
        'status': 'varchar',
        'currency': 'varchar',
        'amount': 'bigint',
        'created': 'bigint',
    }) }}

),

renamed as (

    select
        id as refund_id,
        charge as charge_id,
        lower(status) as refund_status,
        lower(currency) as currency,
        amount as amount_cents,
        {{ epoch_to_timestamp('created') }} as created_at

    from source

)

select * from renamed
