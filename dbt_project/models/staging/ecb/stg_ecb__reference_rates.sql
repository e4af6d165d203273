with

source as (

    {{ source_or_empty('ecb', 'reference_rates', {
        'currency': 'varchar',
        'rate_date': 'date',
        'rate_per_eur': 'decimal(18, 8)',
    }) }}

),

renamed as (

    select
        lower(trim(currency)) as currency,
        rate_date,
        rate_per_eur

    from source
    where rate_per_eur > 0 and rate_date is not null and currency is not null

)

select * from renamed
