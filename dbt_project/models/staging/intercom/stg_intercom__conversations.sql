with

source as (

    {{ source_or_empty('intercom', 'conversations', {
        'id': 'varchar',
        'created_at': 'bigint',
        'updated_at': 'bigint',
        'state': 'varchar',
        'open': 'boolean',
        'priority': 'varchar',
        'title': 'varchar',
        'source__body': 'varchar',
        'source__subject': 'varchar',
        'source__author__type': 'varchar',
        'source__author__id': 'varchar',
        'source__author__email': 'varchar',
        'conversation_rating__rating': 'bigint',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as conversation_id,
        {{ epoch_to_timestamp('created_at') }} as created_at,
        {{ epoch_to_timestamp('updated_at') }} as updated_at,
        lower(state) as conversation_state,
        open as is_open,
        lower(priority) as conversation_priority,
        title,
        source__body as source_body_html,
        source__subject as source_subject,
        lower(source__author__type) as source_author_type,
        source__author__id as source_author_id,
        source__author__email as source_author_email,
        conversation_rating__rating as rating,
        _dlt_load_id as load_id,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
where {{ not_forgotten('lower(trim(source_author_email))') }}
