with

source as (

    {{ source_or_empty('userflow', 'content_sessions', {
        'id': 'varchar',
        'user_id': 'varchar',
        'content_id': 'varchar',
        'content__type': 'varchar',
        'content__name': 'varchar',
        'progress': 'decimal(9, 4)',
        'completed': 'boolean',
        'completed_at': 'timestamp with time zone',
        'created_at': 'timestamp with time zone',
        'last_activity_at': 'timestamp with time zone',
    }) }}

),

renamed as (

    select
        id as content_session_id,
        user_id as userflow_user_id,
        content_id,
        lower(content__type) as content_type,
        content__name as content_name,
        progress,
        coalesce(completed, false) as is_completed,
        {{ to_utc_timestamp('completed_at') }} as completed_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('last_activity_at') }} as last_activity_at

    from source

)

select * from renamed
