with

source as (

    {{ source_or_empty('fathom', 'meetings', {
        'recording_id': 'bigint',
        'title': 'varchar',
        'created_at': 'timestamp with time zone',
        'scheduled_start_time': 'timestamp with time zone',
        'recording_start_time': 'timestamp with time zone',
        'recording_end_time': 'timestamp with time zone',
        'recorded_by__email': 'varchar',
        'default_summary__markdown_formatted': 'varchar',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        recording_id,
        title as meeting_title,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('coalesce(recording_start_time, scheduled_start_time)') }} as started_at,
        {{ to_utc_timestamp('recording_end_time') }} as ended_at,
        lower(trim(recorded_by__email)) as recorded_by_email_key,
        default_summary__markdown_formatted as summary_markdown,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
