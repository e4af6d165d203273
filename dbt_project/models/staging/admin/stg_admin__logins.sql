-- Login events of the product's users (the mapping's `logins` role), rows deleted at the source dropped.
{{ admin_live_rows('logins', 'login_id', {
    'login_id': 'bigint',
    'user_id': 'bigint',
    'logged_in_at': 'timestamp with time zone',
    'committed_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        login_id,
        user_id,
        {{ to_utc_timestamp('logged_in_at') }} as logged_in_at,
        {{ to_utc_timestamp('committed_at') }} as committed_at,
        _dlt_load_id as load_id

    from live

)

select * from renamed
