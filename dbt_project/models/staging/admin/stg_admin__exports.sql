-- Exports made in the product (the mapping's `exports` role); rows deleted at the source dropped.
{{ admin_live_rows('exports', 'export_id', {
    'export_id': 'bigint',
    'user_id': 'bigint',
    'account_id': 'bigint',
    'exported_at': 'timestamp with time zone',
    'committed_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        export_id,
        user_id,
        account_id,
        {{ to_utc_timestamp('exported_at') }} as exported_at,
        {{ to_utc_timestamp('committed_at') }} as committed_at

    from live

)

select * from renamed
