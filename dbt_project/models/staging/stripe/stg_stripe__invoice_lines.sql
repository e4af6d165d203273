-- Invoice line items (the invoices' lines child table) with their invoice and discount total.
with

source as (

    {{ source_or_empty('stripe', 'invoices__lines__data', {
        'id': 'varchar',
        'type': 'varchar',
        'amount': 'bigint',
        'currency': 'varchar',
        'quantity': 'bigint',
        'proration': 'boolean',
        'subscription': 'varchar',
        'period__start': 'bigint',
        'period__end': 'bigint',
        'price__id': 'varchar',
        'price__unit_amount': 'bigint',
        'price__type': 'varchar',
        'price__recurring__interval': 'varchar',
        'price__recurring__interval_count': 'bigint',
        'price__recurring__usage_type': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_id': 'varchar',
    }) }}

),

discounts as (

    {{ source_or_empty('stripe', 'invoices__lines__data__discount_amounts', {
        'amount': 'bigint',
        '_dlt_parent_id': 'varchar',
    }) }}

),

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

line_discounts as (

    select
        _dlt_parent_id,
        sum(amount) as discount_cents

    from discounts
    group by _dlt_parent_id

),

renamed as (

    select
        source.id as line_id,
        invoices.invoice_id,
        invoices.invoice_status,
        invoices.stripe_customer_id,
        coalesce(source.subscription, invoices.subscription_id) as subscription_id,
        lower(source.type) as line_type,
        source.amount as amount_cents,
        coalesce(line_discounts.discount_cents, 0) as discount_cents,
        lower(source.currency) as currency,
        source.quantity,
        coalesce(source.proration, false) as is_proration,
        {{ epoch_to_timestamp('source.period__start') }} as period_start_at,
        {{ epoch_to_timestamp('source.period__end') }} as period_end_at,
        source.price__id as price_id,
        source.price__unit_amount as unit_amount_cents,
        lower(source.price__type) as price_type,
        lower(source.price__recurring__interval) as price_interval,
        source.price__recurring__interval_count as price_interval_count,
        lower(source.price__recurring__usage_type) as usage_type

    from source
    inner join invoices
        on source._dlt_parent_id = invoices.dlt_id
    left join line_discounts
        on source._dlt_id = line_discounts._dlt_parent_id

)

select * from renamed
