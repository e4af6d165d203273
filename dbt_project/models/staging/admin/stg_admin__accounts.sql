-- The product's accounts (the mapping's `accounts` role); rows deleted at the source dropped.
{{ admin_live_rows('accounts', 'account_id', {
    'account_id': 'bigint',
    'account_name': 'varchar',
    'plan': 'varchar',
    'created_at': 'timestamp with time zone',
    'updated_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        account_id,
        nullif(trim(account_name), '') as account_name,
        nullif(trim(plan), '') as plan_name,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at

    from live

)

select * from renamed
