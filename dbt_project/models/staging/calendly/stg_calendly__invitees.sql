with

source as (

    {{ source_or_empty('calendly', 'invitees', {
        'uri': 'varchar',
        'event': 'varchar',
        'email': 'varchar',
        'name': 'varchar',
        'status': 'varchar',
        'timezone': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'rescheduled': 'boolean',
        'old_invitee': 'varchar',
        'new_invitee': 'varchar',
        'no_show__uri': 'varchar',
        'no_show__created_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        uri as invitee_uri,
        event as event_uri,
        email,
        lower(trim(email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        nullif(trim(name), '') as invitee_name,
        lower(trim(status)) as invitee_status,
        timezone as invitee_timezone,
        no_show__uri is not null as is_no_show,
        {{ to_utc_timestamp('no_show__created_at') }} as no_show_marked_at,
        coalesce(rescheduled, false) as is_rescheduled,
        old_invitee as old_invitee_uri,
        new_invitee as new_invitee_uri,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as load_id,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
where {{ not_forgotten('email_key') }}
