-- The product's users (the mapping's `users` role) with their email_key; rows deleted at the source dropped.
{{ admin_live_rows('users', 'user_id', {
    'user_id': 'bigint',
    'account_id': 'bigint',
    'email': 'varchar',
    'user_name': 'varchar',
    'created_at': 'timestamp with time zone',
    'updated_at': 'timestamp with time zone',
    'deactivated_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        user_id,
        account_id,
        trim(email) as email,
        lower(trim(email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        nullif(trim(user_name), '') as user_name,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('deactivated_at') }} as deactivated_at,
        _dlt_load_id as load_id

    from live

)

select * from renamed
where {{ not_forgotten('email_key') }}
