with

source as (

    {{ source_or_empty('hubspot', 'deals', {
        'id': 'varchar',
        'archived': 'boolean',
        'properties__dealname': 'varchar',
        'properties__dealstage': 'varchar',
        'properties__pipeline': 'varchar',
        'properties__amount': 'decimal(38, 9)',
        'properties__deal_currency_code': 'varchar',
        'properties__closedate': 'timestamp with time zone',
        'properties__hubspot_owner_id': 'varchar',
        'properties__hs_is_closed': 'varchar',
        'properties__hs_is_closed_won': 'varchar',
        'properties__createdate': 'timestamp with time zone',
        'properties__hs_lastmodifieddate': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as deal_id,
        properties__dealname as deal_name,
        lower(trim(properties__dealstage)) as deal_stage,
        properties__pipeline as pipeline,
        cast(properties__amount as decimal(18, 2)) as amount,
        lower(properties__deal_currency_code) as currency,
        nullif(trim(properties__hubspot_owner_id), '') as owner_id,
        coalesce(lower(properties__hs_is_closed) = 'true', false) as is_closed,
        coalesce(lower(properties__hs_is_closed_won) = 'true', false) as is_closed_won,
        {{ to_utc_timestamp('properties__closedate') }} as closed_at,
        {{ to_utc_timestamp('properties__createdate') }} as created_at,
        {{ to_utc_timestamp('properties__hs_lastmodifieddate') }} as updated_at,
        coalesce(archived, false) as is_archived,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
