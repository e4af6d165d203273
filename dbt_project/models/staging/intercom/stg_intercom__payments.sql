with

source as (

    {{ source_or_empty('intercom', 'contacts__custom_attributes__stripe_payments', {
        'id': 'varchar',
        'amount': 'bigint',
        'amount_refunded': 'bigint',
        'currency': 'varchar',
        'created': 'bigint',
        'status': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

contacts as (

    select * from {{ ref('stg_intercom__contacts') }}

),

renamed as (

    select
        source.id as payment_id,
        contacts.contact_id,
        source.amount as amount_cents,
        source.amount_refunded as amount_refunded_cents,
        lower(trim(source.currency)) as currency,
        lower(trim(source.status)) as payment_status,
        {{ epoch_to_timestamp('source.created') }} as created_at,
        contacts.loaded_at,
        source._dlt_id as dlt_id,
        source._dlt_parent_id as contact_dlt_id

    from source
    left join contacts
        on source._dlt_parent_id = contacts.dlt_id

)

select * from renamed
