-- ops.sync_log (written by `gtm sync`, one row per source per run), or a typed empty relation before the
-- first sync creates it.

with

sync_log as (

    {{ source_or_empty('ops', 'sync_log', {
        'run_id': 'varchar',
        'source': 'varchar',
        'started_at': dbt.type_timestamp(),
        'finished_at': dbt.type_timestamp(),
        'status': 'varchar',
        'error_message': 'varchar',
    }) }}

),

final as (

    select
        run_id,
        {{ adapter.quote('source') }} as source_name,
        started_at,
        finished_at,
        status as sync_status,
        error_message

    from sync_log

)

select * from final
