with

source as (

    {{ source_or_empty('stripe', 'customers', {
        'id': 'varchar',
        'email': 'varchar',
        'name': 'varchar',
        'currency': 'varchar',
        'delinquent': 'boolean',
        'created': 'bigint',
        '_dlt_load_id': 'varchar',
    }) }}

),

renamed as (

    select
        id as stripe_customer_id,
        email,
        lower(trim(email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        nullif(trim(name), '') as customer_name,
        lower(currency) as currency,
        coalesce(delinquent, false) as is_delinquent,
        {{ epoch_to_timestamp('created') }} as created_at,
        _dlt_load_id as load_id

    from source

)

select * from renamed
