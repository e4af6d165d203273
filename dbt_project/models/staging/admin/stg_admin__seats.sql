-- Seats purchased per account (the mapping's `seats` role): today's value, as the product keeps it.
{{ admin_live_rows('seats', 'account_id', {
    'account_id': 'bigint',
    'seats_purchased': 'integer',
    'updated_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        account_id,
        seats_purchased,
        {{ to_utc_timestamp('updated_at') }} as updated_at

    from live

)

select * from renamed
