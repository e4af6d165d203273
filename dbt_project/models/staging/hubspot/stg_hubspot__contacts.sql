with

source as (

    {{ source_or_empty('hubspot', 'contacts', {
        'id': 'varchar',
        'archived': 'boolean',
        'properties__email': 'varchar',
        'properties__firstname': 'varchar',
        'properties__lastname': 'varchar',
        'properties__lifecyclestage': 'varchar',
        'properties__hubspot_owner_id': 'varchar',
        'properties__company': 'varchar',
        'properties__associatedcompanyid': 'varchar',
        'properties__createdate': 'timestamp with time zone',
        'properties__lastmodifieddate': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as contact_id,
        properties__email as email,
        lower(trim(properties__email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(properties__email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        nullif(trim(properties__firstname), '') as first_name,
        nullif(trim(properties__lastname), '') as last_name,
        lower(nullif(trim(properties__lifecyclestage), '')) as lifecycle_stage,
        nullif(trim(properties__hubspot_owner_id), '') as owner_id,
        nullif(trim(properties__company), '') as company_name,
        nullif(trim(properties__associatedcompanyid), '') as company_id,
        {{ to_utc_timestamp('properties__createdate') }} as created_at,
        {{ to_utc_timestamp('properties__lastmodifieddate') }} as updated_at,
        coalesce(archived, false) as is_archived,
        _dlt_load_id as load_id,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
where {{ not_forgotten('email_key') }}
