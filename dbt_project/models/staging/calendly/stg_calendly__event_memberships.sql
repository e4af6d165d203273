with

source as (

    {{ source_or_empty('calendly', 'scheduled_events__event_memberships', {
        'user': 'varchar',
        'user_email': 'varchar',
        'user_name': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

events as (

    select * from {{ ref('stg_calendly__scheduled_events') }}

),

renamed as (

    select
        events.event_uri,
        source.{{ adapter.quote('user') }} as host_user_uri,
        trim(source.user_email) as host_email,
        lower(trim(source.user_email)) as host_email_key,
        source.user_name as host_name,
        source._dlt_list_idx as host_position,
        source._dlt_list_idx = 0 as is_organizer,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as event_dlt_id

    from source
    left join events
        on source._dlt_parent_id = events.dlt_id

)

select * from renamed
