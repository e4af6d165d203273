with

source as (

    {{ source_or_empty('stripe', 'invoices', {
        'id': 'varchar',
        'customer': 'varchar',
        'subscription': 'varchar',
        'status': 'varchar',
        'currency': 'varchar',
        'created': 'bigint',
        'period_start': 'bigint',
        'period_end': 'bigint',
        'subtotal': 'bigint',
        'tax': 'bigint',
        'total': 'bigint',
        'amount_paid': 'bigint',
        'amount_remaining': 'bigint',
        'attempt_count': 'bigint',
        'billing_reason': 'varchar',
        'status_transitions__paid_at': 'bigint',
        'status_transitions__marked_uncollectible_at': 'bigint',
        'status_transitions__voided_at': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as invoice_id,
        customer as stripe_customer_id,
        subscription as subscription_id,
        lower(status) as invoice_status,
        lower(currency) as currency,
        {{ epoch_to_timestamp('created') }} as created_at,
        subtotal as subtotal_cents,
        coalesce(tax, 0) as tax_cents,
        total as total_cents,
        amount_paid as amount_paid_cents,
        amount_remaining as amount_remaining_cents,
        coalesce(attempt_count, 0) as attempt_count,
        billing_reason,
        {{ epoch_to_timestamp('status_transitions__paid_at') }} as paid_at,
        {{ epoch_to_timestamp('status_transitions__marked_uncollectible_at') }} as marked_uncollectible_at,
        {{ epoch_to_timestamp('status_transitions__voided_at') }} as voided_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
