with

source as (

    {{ source_or_empty('stripe', 'charges', {
        'id': 'varchar',
        'customer': 'varchar',
        'invoice': 'varchar',
        'status': 'varchar',
        'currency': 'varchar',
        'amount': 'bigint',
        'amount_refunded': 'bigint',
        'created': 'bigint',
        'failure_code': 'varchar',
    }) }}

),

renamed as (

    select
        id as charge_id,
        customer as stripe_customer_id,
        invoice as invoice_id,
        lower(status) as charge_status,
        lower(currency) as currency,
        amount as amount_cents,
        coalesce(amount_refunded, 0) as amount_refunded_cents,
        {{ epoch_to_timestamp('created') }} as created_at,
        failure_code

    from source

)

select * from renamed
