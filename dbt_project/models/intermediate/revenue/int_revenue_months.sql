-- One row per (month, currency) from the first month with Stripe MRR to T's month: the month's first and
-- last day (T for T's month) and the currency's rate into the reporting currency for the month: the latest
-- rate on or before the month's first day (1 for the reporting currency; null without any rate).

{%- set reporting = var('reporting_currency') | lower %}

with

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

bounds as (

    select min({{ dbt.date_trunc('month', 'valid_from') }}) as first_month
    from segments

),

digits as (

    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9

),

numbers as (

    select hundreds.digit * 100 + tens.digit * 10 + ones.digit as month_number
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

months as (

    select cast({{ dbt.dateadd('month', 'numbers.month_number', 'bounds.first_month') }} as date) as month_start
    from bounds
    cross join numbers
    where
        bounds.first_month is not null
        and {{ dbt.dateadd('month', 'numbers.month_number', 'bounds.first_month') }} <= {{ as_of_date() }}

),

currencies as (

    select distinct currency from segments

),

rated as (

    select
        months.month_start,
        currencies.currency,
        max(fx_rates.rate_date) as rate_date

    from months
    cross join currencies
    left join fx_rates
        on lower(fx_rates.currency) = currencies.currency and months.month_start >= fx_rates.rate_date
    group by months.month_start, currencies.currency

),

final as (

    select
        rated.month_start,
        case
            when {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'rated.month_start')) }} > {{ as_of_date() }}
                then {{ as_of_date() }}
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'rated.month_start')) }} as date)
        end as month_end,
        rated.currency,
        cast(case
            when rated.currency = '{{ reporting }}' then 1
            else fx_rates.rate_to_reporting
        end as decimal(20, 10)) as rate_to_reporting

    from rated
    left join fx_rates
        on lower(fx_rates.currency) = rated.currency and rated.rate_date = fx_rates.rate_date

)

select * from final
