with

source as (

    {{ source_or_empty('hubspot', 'contacts__merged_object_ids', {
        'value': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

renamed as (

    select
        source.value as merged_contact_id,
        contacts.contact_id as survivor_contact_id,
        source._dlt_list_idx as merge_position,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as survivor_dlt_id

    from source
    left join contacts
        on source._dlt_parent_id = contacts.dlt_id

)

select * from renamed
