with

source as (

    {{ source_or_empty('intercom', 'contacts', {
        'id': 'varchar',
        'type': 'varchar',
        'external_id': 'varchar',
        'role': 'varchar',
        'email': 'varchar',
        'name': 'varchar',
        'created_at': 'bigint',
        'updated_at': 'bigint',
        'signed_up_at': 'bigint',
        'last_seen_at': 'bigint',
        'location__country': 'varchar',
        'location__city': 'varchar',
        'custom_attributes__stripe_id': 'varchar',
        'custom_attributes__stripe_plan': 'varchar',
        'custom_attributes__stripe_plan_price': 'bigint',
        'custom_attributes__stripe_subscription_status': 'varchar',
        'custom_attributes__stripe_delinquent': 'boolean',
        'custom_attributes__stripe_last_charge_amount': 'bigint',
        'custom_attributes__stripe_last_charge_at': 'bigint',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as contact_id,
        external_id as contact_external_id,
        type as contact_type,
        role as contact_role,
        email,
        lower(trim(email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        name as contact_name,
        {{ epoch_to_timestamp('created_at') }} as created_at,
        {{ epoch_to_timestamp('updated_at') }} as updated_at,
        {{ epoch_to_timestamp('signed_up_at') }} as signed_up_at,
        {{ epoch_to_timestamp('last_seen_at') }} as last_seen_at,
        location__country as location_country,
        location__city as location_city,
        custom_attributes__stripe_id as stripe_customer_id,
        custom_attributes__stripe_plan as stripe_plan,
        custom_attributes__stripe_plan_price as stripe_plan_price_cents,
        lower(trim(custom_attributes__stripe_subscription_status)) as stripe_subscription_status,
        custom_attributes__stripe_delinquent as is_stripe_delinquent,
        custom_attributes__stripe_last_charge_amount as stripe_last_charge_amount_cents,
        {{ epoch_to_timestamp('custom_attributes__stripe_last_charge_at') }} as stripe_last_charge_at,
        _dlt_load_id as load_id,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
where {{ not_forgotten('email_key') }}
