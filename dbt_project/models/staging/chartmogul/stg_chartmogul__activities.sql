with

source as (

    {{ source_or_empty('chartmogul', 'activities', {
        'uuid': 'varchar',
        'date': 'varchar',
        'type': 'varchar',
        'currency': 'varchar',
        'customer_uuid': 'varchar',
        'customer_external_id': 'varchar',
        'activity_mrr_movement': 'bigint',
        'activity_mrr': 'bigint',
    }) }}

),

renamed as (

    select
        uuid as activity_id,
        cast(substring(date, 1, 10) as date) as activity_date,
        lower(type) as activity_type,
        lower(currency) as currency,
        customer_uuid as chartmogul_customer_id,
        customer_external_id as stripe_customer_id,
        activity_mrr_movement as movement_cents,
        activity_mrr as mrr_cents

    from source

)

select * from renamed
