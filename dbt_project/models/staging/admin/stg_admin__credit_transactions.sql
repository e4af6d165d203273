-- Credit movements (the mapping's `credit_transactions` role): usage negative, grants and top-ups positive.
{{ admin_live_rows('credit_transactions', 'transaction_id', {
    'transaction_id': 'bigint',
    'account_id': 'bigint',
    'user_id': 'bigint',
    'credits': 'bigint',
    'occurred_at': 'timestamp with time zone',
    'committed_at': 'timestamp with time zone',
}) }},

renamed as (

    select
        transaction_id,
        account_id,
        user_id,
        credits,
        case when credits < 0 then -1 * credits else 0 end as credits_used,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('committed_at') }} as committed_at

    from live

)

select * from renamed
