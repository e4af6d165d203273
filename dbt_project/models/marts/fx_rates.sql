-- Conversion rates into the reporting currency (var `reporting_currency`), one row per (currency, rate_date):
-- the ECB reference rates that `gtm fx refresh` keeps (units per euro, crossed through EUR:
-- rate_to_reporting = reporting-per-EUR / currency-per-EUR of the same day), and the rows of the seed
-- fx_rates_manual, which win on the same day. Readers take the latest rate on or before the day they need
-- (metrics.md, Currency); the reporting currency itself needs no rate.

{%- set reporting = var('reporting_currency') | lower %}

with

ecb as (

    select * from {{ ref('stg_ecb__reference_rates') }}

),

manual as (

    select * from {{ ref('fx_rates_manual') }}

),

ecb_days as (

    select distinct rate_date from ecb

),

ecb_with_euro as (

    select
        currency,
        rate_date,
        rate_per_eur

    from ecb
    where currency != 'eur'

    union all

    select
        'eur' as currency,
        rate_date,
        1 as rate_per_eur

    from ecb_days

),

reporting_rates as (

    select
        rate_date,
        rate_per_eur as reporting_per_eur

    from ecb_with_euro
    where currency = '{{ reporting }}'

),

ecb_crossed as (

    select
        ecb_with_euro.currency,
        ecb_with_euro.rate_date,
        cast(reporting_rates.reporting_per_eur as decimal(38, 12)) / ecb_with_euro.rate_per_eur
            as rate_to_reporting,
        'ecb' as rate_source

    from ecb_with_euro
    inner join reporting_rates
        on ecb_with_euro.rate_date = reporting_rates.rate_date
    where ecb_with_euro.currency != '{{ reporting }}'

),

manual_rates as (

    select
        lower(trim(currency)) as currency,
        cast(rate_date as date) as rate_date,
        cast(rate_to_reporting as decimal(38, 12)) as rate_to_reporting,
        'manual' as rate_source

    from manual
    where rate_to_reporting > 0

),

combined as (

    select * from manual_rates

    union all

    select ecb_crossed.*
    from ecb_crossed
    left join manual_rates
        on
            ecb_crossed.currency = manual_rates.currency
            and ecb_crossed.rate_date = manual_rates.rate_date
    where manual_rates.currency is null

),

final as (

    select
        cast(currency as varchar) as currency,
        cast(rate_date as date) as rate_date,
        cast({{ round_half_up('rate_to_reporting', 10) }} as decimal(20, 10)) as rate_to_reporting,
        cast(rate_source as varchar) as rate_source

    from combined

)

select * from final
