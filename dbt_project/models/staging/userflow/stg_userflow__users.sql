with

source as (

    {{ source_or_empty('userflow', 'users', {
        'id': 'varchar',
        'created_at': 'timestamp with time zone',
        'attributes__email': 'varchar',
        'attributes__name': 'varchar',
        'attributes__signed_up_at': 'timestamp with time zone',
        'attributes__last_seen_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as userflow_user_id,
        trim(attributes__email) as email,
        lower(trim(attributes__email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(attributes__email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        nullif(trim(attributes__name), '') as user_name,
        {{ to_utc_timestamp('coalesce(attributes__signed_up_at, created_at)') }} as signed_up_at,
        {{ to_utc_timestamp('attributes__last_seen_at') }} as last_seen_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at

    from source

)

select * from renamed
where {{ not_forgotten('email_key') }}
