with

source as (

    {{ source_or_empty('hubspot', 'deals__associations__contacts', {
        'id': 'varchar',
        'type': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
        '_dlt_id': 'varchar',
    }) }}

),

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

renamed as (

    select
        deals.deal_id,
        source.id as contact_id,
        source.type as association_type,
        source._dlt_list_idx as contact_position,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as deal_dlt_id

    from source
    -- inner: the contacts of a deal a past as-of build does not know yet (stg_hubspot__deals) are not
    -- known either
    inner join deals
        on source._dlt_parent_id = deals.dlt_id

)

select * from renamed
