with

source as (

    {{ source_or_empty('hubspot', 'owners', {
        'id': 'varchar',
        'email': 'varchar',
        'first_name': 'varchar',
        'last_name': 'varchar',
        'user_id': 'bigint',
        'archived': 'boolean',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as owner_id,
        trim(email) as email,
        lower(trim(email)) as email_key,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        coalesce(
            nullif(trim({{ dbt.concat(["coalesce(trim(first_name), '')", "' '", "coalesce(trim(last_name), '')"]) }}), ''),
            trim(email)
        ) as owner_name,
        user_id,
        coalesce(archived, false) as is_archived,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ epoch_to_timestamp('_dlt_load_id') }} as loaded_at,
        _dlt_id as dlt_id

    from source

)

select * from renamed
