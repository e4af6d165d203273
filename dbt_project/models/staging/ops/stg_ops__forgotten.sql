-- ops.forgotten (written by `gtm forget`, one row per erased person), or a typed empty relation before the
-- first erasure creates it.

with

forgotten as (

    {{ source_or_empty('ops', 'forgotten', {
        'email_hash': 'varchar',
        'forgotten_at': dbt.type_timestamp(),
    }) }}

),

final as (

    select
        email_hash,
        forgotten_at

    from forgotten

)

select * from final
