with

source as (

    {{ source_or_empty('hubspot', 'companies', {
        'id': 'varchar',
        'archived': 'boolean',
        'properties__name': 'varchar',
        'properties__domain': 'varchar',
        'properties__industry': 'varchar',
        'properties__lifecyclestage': 'varchar',
        'properties__hubspot_owner_id': 'varchar',
        'properties__createdate': 'timestamp with time zone',
        'properties__hs_lastmodifieddate': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as company_id,
        nullif(trim(properties__name), '') as company_name,
        lower(nullif(trim(properties__domain), '')) as company_domain,
        properties__industry as industry,
        lower(nullif(trim(properties__lifecyclestage), '')) as lifecycle_stage,
        nullif(trim(properties__hubspot_owner_id), '') as owner_id,
        {{ to_utc_timestamp('properties__createdate') }} as created_at,
        {{ to_utc_timestamp('properties__hs_lastmodifieddate') }} as updated_at,
        coalesce(archived, false) as is_archived,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
