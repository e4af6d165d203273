with

source as (

    {{ source_or_empty('stripe', 'subscriptions', {
        'id': 'varchar',
        'customer': 'varchar',
        'status': 'varchar',
        'currency': 'varchar',
        'created': 'bigint',
        'start_date': 'bigint',
        'trial_start': 'bigint',
        'trial_end': 'bigint',
        'canceled_at': 'bigint',
        'cancel_at': 'bigint',
        'cancel_at_period_end': 'boolean',
        'ended_at': 'bigint',
        'current_period_start': 'bigint',
        'current_period_end': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as subscription_id,
        customer as stripe_customer_id,
        lower(trim(status)) as subscription_status,
        lower(currency) as currency,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('coalesce(start_date, created)') }} as started_at,
        {{ epoch_to_timestamp('trial_start') }} as trial_started_at,
        {{ epoch_to_timestamp('trial_end') }} as trial_ended_at,
        {{ epoch_to_timestamp('canceled_at') }} as canceled_at,
        {{ epoch_to_timestamp('cancel_at') }} as cancel_at,
        coalesce(cancel_at_period_end, false) as is_cancel_at_period_end,
        {{ epoch_to_timestamp('ended_at') }} as ended_at,
        {{ epoch_to_timestamp('current_period_start') }} as current_period_start_at,
        {{ epoch_to_timestamp('current_period_end') }} as current_period_end_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
