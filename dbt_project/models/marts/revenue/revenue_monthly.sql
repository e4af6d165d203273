-- Per month: the MRR waterfall in the reporting currency (starting MRR = the previous month's ending MRR;
-- business movements at the month's rate; fx revalues the start to the month's rate; ending MRR on the
-- last day of the month, T for T's month), paying / new / churned / reactivated customers, customer churn
-- rate, ARPA, quick ratio and predicted LTV (metrics.md, Revenue timeline). Currencies without a rate stay
-- out of every amount and ratio and show in `unconverted_ending_mrr` (native amounts per currency).

{%- set ltv_months = var('predicted_ltv_churn_months') | int %}

with

months as (

    select * from {{ ref('int_revenue_months') }}

),

movements as (

    select * from {{ ref('int_revenue_movements') }}

),

segments as (

    select * from {{ ref('int_revenue_customer_segments') }}

),

calendar as (

    select distinct
        month_start,
        month_end,
        cast({{ dbt.dateadd('day', -1, 'month_start') }} as date) as previous_month_end

    from months

),

month_end_values as (

    select
        calendar.month_start,
        segments.customer_key,
        segments.currency,
        segments.mrr_cents / 100.0 as mrr_native,
        segments.mrr_cents / 100.0 * months.rate_to_reporting as mrr_reporting

    from calendar
    inner join segments
        on
            calendar.month_end >= segments.valid_from
            and (segments.valid_to is null or calendar.month_end < segments.valid_to)
            and segments.mrr_cents > 0
    inner join months
        on calendar.month_start = months.month_start and segments.currency = months.currency

),

ending as (

    select
        month_start,
        sum(mrr_reporting) as ending_mrr,
        count(distinct customer_key) as paying_customers_end,
        count(distinct case when mrr_reporting is not null then customer_key end) as rated_customers_end

    from month_end_values
    group by month_start

),

unconverted as (

    select
        month_start,
        {{ dbt.listagg(dbt.concat(['currency', "' '", 'cast(native_total as varchar)']), "', '", "order by currency") }}
            as unconverted_ending_mrr

    from (
        select
            month_start,
            currency,
            cast(sum(mrr_native) as decimal(20, 2)) as native_total

        from month_end_values
        where mrr_reporting is null
        group by month_start, currency
    ) as unconverted_totals
    group by month_start

),

movement_totals as (

    select
        {{ dbt.date_trunc('month', 'movement_date') }} as month_start,
        sum(case when movement_type = 'new_business' then amount_reporting else 0 end) as new_business_mrr,
        sum(case when movement_type = 'expansion' then amount_reporting else 0 end) as expansion_mrr,
        sum(case when movement_type = 'reactivation' then amount_reporting else 0 end) as reactivation_mrr,
        sum(case when movement_type = 'contraction' then amount_reporting else 0 end) as contraction_mrr,
        sum(case when movement_type = 'churn' then amount_reporting else 0 end) as churn_mrr,
        sum(case when movement_type = 'fx' then amount_reporting else 0 end) as fx_mrr,
        count(distinct case when movement_type = 'new_business' then customer_key end) as new_customers,
        count(distinct case when movement_type = 'churn' then customer_key end) as churned_customers,
        count(distinct case when movement_type = 'reactivation' then customer_key end) as reactivated_customers

    from movements
    group by {{ dbt.date_trunc('month', 'movement_date') }}

),

joined as (

    select
        calendar.month_start,
        calendar.month_end,
        coalesce(previous_ending.ending_mrr, 0) as starting_mrr,
        coalesce(movement_totals.new_business_mrr, 0) as new_business_mrr,
        coalesce(movement_totals.expansion_mrr, 0) as expansion_mrr,
        coalesce(movement_totals.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(movement_totals.contraction_mrr, 0) as contraction_mrr,
        coalesce(movement_totals.churn_mrr, 0) as churn_mrr,
        coalesce(movement_totals.fx_mrr, 0) as fx_mrr,
        coalesce(ending.ending_mrr, 0) as ending_mrr,
        coalesce(previous_ending.paying_customers_end, 0) as paying_customers_start,
        coalesce(ending.paying_customers_end, 0) as paying_customers_end,
        coalesce(ending.rated_customers_end, 0) as rated_customers_end,
        coalesce(movement_totals.new_customers, 0) as new_customers,
        coalesce(movement_totals.churned_customers, 0) as churned_customers,
        coalesce(movement_totals.reactivated_customers, 0) as reactivated_customers,
        unconverted.unconverted_ending_mrr

    from calendar
    left join ending
        on calendar.month_start = ending.month_start
    left join ending as previous_ending
        on previous_ending.month_start = {{ dbt.dateadd('month', -1, 'calendar.month_start') }}
    left join movement_totals
        on calendar.month_start = movement_totals.month_start
    left join unconverted
        on calendar.month_start = unconverted.month_start

),

rates as (

    select
        *,
        case
            when paying_customers_start > 0 then 1.0 * churned_customers / paying_customers_start
        end as customer_churn_rate,
        case when rated_customers_end > 0 then ending_mrr / rated_customers_end end as arpa,
        case
            when contraction_mrr + churn_mrr < 0
                then (new_business_mrr + expansion_mrr + reactivation_mrr) / -(contraction_mrr + churn_mrr)
        end as quick_ratio

    from joined

),

averaged as (

    select
        *,
        avg(customer_churn_rate) over (
            order by month_start rows between {{ ltv_months - 1 }} preceding and current row
        ) as average_churn_rate

    from rates

),

final as (

    select
        cast(month_start as date) as month_start,
        cast(month_end as date) as month_end,
        cast(starting_mrr as decimal(20, 2)) as starting_mrr,
        cast(new_business_mrr as decimal(20, 2)) as new_business_mrr,
        cast(expansion_mrr as decimal(20, 2)) as expansion_mrr,
        cast(reactivation_mrr as decimal(20, 2)) as reactivation_mrr,
        cast(contraction_mrr as decimal(20, 2)) as contraction_mrr,
        cast(churn_mrr as decimal(20, 2)) as churn_mrr,
        cast(fx_mrr as decimal(20, 2)) as fx_mrr,
        cast(ending_mrr as decimal(20, 2)) as ending_mrr,
        cast(paying_customers_start as integer) as paying_customers_start,
        cast(paying_customers_end as integer) as paying_customers_end,
        cast(new_customers as integer) as new_customers,
        cast(churned_customers as integer) as churned_customers,
        cast(reactivated_customers as integer) as reactivated_customers,
        cast(customer_churn_rate as decimal(10, 6)) as customer_churn_rate,
        cast(arpa as decimal(20, 2)) as arpa,
        cast(quick_ratio as decimal(20, 4)) as quick_ratio,
        cast(case when average_churn_rate > 0 then arpa / average_churn_rate end as decimal(20, 2))
            as predicted_ltv,
        cast(unconverted_ending_mrr as varchar) as unconverted_ending_mrr

    from averaged

)

select * from final
