with

source as (

    {{ source_or_empty('intercom', 'contacts__custom_attributes__stripe_subscriptions', {
        'id': 'varchar',
        'status': 'varchar',
        'quantity': 'bigint',
        'plan__id': 'varchar',
        'plan__amount': 'bigint',
        'plan__interval': 'varchar',
        'plan__interval_count': 'bigint',
        'plan__nickname': 'varchar',
        'plan__currency': 'varchar',
        'current_period_start': 'bigint',
        'current_period_end': 'bigint',
        'created': 'bigint',
        '_dlt_parent_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

contacts as (

    select * from {{ ref('stg_intercom__contacts') }}

),

renamed as (

    select
        source.id as subscription_id,
        contacts.contact_id,
        lower(trim(source.status)) as subscription_status,
        source.quantity,
        source.plan__id as plan_id,
        source.plan__amount as plan_amount_cents,
        lower(trim(source.plan__interval)) as plan_interval,
        source.plan__interval_count as plan_interval_count,
        source.plan__nickname as plan_nickname,
        lower(trim(source.plan__currency)) as currency,
        {{ epoch_to_timestamp('source.current_period_start') }} as current_period_start_at,
        {{ epoch_to_timestamp('source.current_period_end') }} as current_period_end_at,
        {{ epoch_to_timestamp('source.created') }} as created_at,
        contacts.loaded_at,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as contact_dlt_id

    from source
    left join contacts
        on source._dlt_parent_id = contacts.dlt_id

)

select * from renamed
