with

source as (

    {{ source_or_empty('chartmogul', 'customers', {
        'uuid': 'varchar',
        'external_id': 'varchar',
        'email': 'varchar',
        'name': 'varchar',
        'status': 'varchar',
        'mrr': 'bigint',
        'currency': 'varchar',
    }) }}

),

renamed as (

    select
        uuid as chartmogul_customer_id,
        external_id as stripe_customer_id,
        email,
        lower(trim(email)) as email_key,
        nullif(trim(name), '') as customer_name,
        status as customer_status,
        mrr as mrr_cents,
        lower(currency) as currency

    from source

)

select * from renamed
