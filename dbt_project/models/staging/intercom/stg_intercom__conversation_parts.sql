with

source as (

    {{ source_or_empty('intercom', 'conversation_parts', {
        'conversation_id': 'varchar',
        'id': 'varchar',
        'part_type': 'varchar',
        'body': 'varchar',
        'created_at': 'bigint',
        'author__type': 'varchar',
        'author__id': 'varchar',
    }) }}

),

renamed as (

    select
        id as conversation_part_id,
        conversation_id,
        part_type,
        body as body_html,
        {{ epoch_to_timestamp('created_at') }} as created_at,
        lower(author__type) as author_type,
        author__id as author_id

    from source

)

select * from renamed
