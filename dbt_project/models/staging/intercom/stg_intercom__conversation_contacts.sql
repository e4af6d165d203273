with

source as (

    {{ source_or_empty('intercom', 'conversations__contacts__contacts', {
        'id': 'varchar',
        'type': 'varchar',
        'external_id': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

conversations as (

    select * from {{ ref('stg_intercom__conversations') }}

),

renamed as (

    select
        conversations.conversation_id,
        source.id as contact_id,
        source.type as contact_type,
        source.external_id as contact_external_id,
        source._dlt_list_idx as contact_position,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as conversation_dlt_id

    from source
    left join conversations
        on source._dlt_parent_id = conversations.dlt_id

)

select * from renamed
