with

source as (

    {{ source_or_empty('calendly', 'scheduled_events', {
        'uri': 'varchar',
        'name': 'varchar',
        'status': 'varchar',
        'start_time': 'timestamp with time zone',
        'end_time': 'timestamp with time zone',
        'event_type': 'varchar',
        'location__type': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'cancellation__canceler_type': 'varchar',
        'cancellation__reason': 'varchar',
        'cancellation__created_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        uri as event_uri,
        name as event_name,
        lower(trim(status)) as event_status,
        {{ to_utc_timestamp('start_time') }} as start_at,
        {{ to_utc_timestamp('end_time') }} as end_at,
        event_type as event_type_uri,
        location__type as location_type,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        cancellation__canceler_type as canceler_type,
        cancellation__reason as cancellation_reason,
        {{ to_utc_timestamp('cancellation__created_at') }} as canceled_at,
        _dlt_load_id as load_id,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
