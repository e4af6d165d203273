-- One row for T with the names of the original API's dashboard summary, over the health scope (var
-- `health_scope_stages`, metrics.md Customer stage and scope): total_customers counts the scope; customer
-- counts per stage (every customer, in scope or not) stand beside it. MRR / ARR totals add reporting-currency
-- amounts only: MRR whose currency has no rate is left out and listed per currency in unconverted_mrr
-- (e.g. "eur 1234.00"). at_risk_count = at_risk + high_risk customers of the scope, critical_count = critical.

{%- set statuses = ['healthy', 'at_risk', 'high_risk', 'critical'] %}
{%- set stages = ['paying', 'trialing', 'churned', 'lead'] %}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

unconverted as (

    select * from {{ ref('unconverted_amounts') }}
    where amount = 'mrr' and scope_customers > 0

),

totals as (

    select
        sum(case when is_in_health_scope then 1 else 0 end) as total_customers,
        count(*) as all_customers,
        {%- for stage in stages %}
        sum(case when customer_stage = '{{ stage }}' then 1 else 0 end) as customers_{{ stage }},
        {%- endfor %}
        sum(case when is_in_health_scope and customer_stage = 'paying' then 1 else 0 end) as paying_customers,
        coalesce(sum(case when is_in_health_scope then mrr end), 0) as total_mrr,
        coalesce(sum(case when is_in_health_scope then arr end), 0) as total_arr,
        avg(case when is_in_health_scope then health_score end) as avg_health_score,
        avg(case when is_in_health_scope then churn_risk end) as avg_churn_risk,
        {%- for status in statuses %}
        sum(case when is_in_health_scope and health_status = '{{ status }}' then 1 else 0 end)
            as {{ status }}_customers,
        coalesce(sum(case when is_in_health_scope and health_status = '{{ status }}' then mrr end), 0)
            as {{ status }}_mrr,
        {%- endfor %}
        sum(case when is_in_health_scope and risk_signals != '' then 1 else 0 end) as customers_with_risk_signals

    from customers

),

unconverted_list as (

    select
        {{ dbt.listagg(
            dbt.concat(['currency', "' '", 'cast(scope_native_amount as varchar)']), "'; '", 'order by currency'
        ) }} as unconverted_mrr,
        sum(scope_customers) as unconverted_mrr_customers

    from unconverted

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(coalesce(totals.total_customers, 0) as integer) as total_customers,
        cast(totals.all_customers as integer) as all_customers,
        {%- for stage in stages %}
        cast(coalesce(totals.customers_{{ stage }}, 0) as integer) as customers_{{ stage }},
        {%- endfor %}
        cast(coalesce(totals.paying_customers, 0) as integer) as paying_customers,
        cast(totals.total_mrr as decimal(18, 2)) as total_mrr,
        cast(totals.total_arr as decimal(18, 2)) as total_arr,
        cast(coalesce(unconverted_list.unconverted_mrr, '') as varchar) as unconverted_mrr,
        cast(coalesce(unconverted_list.unconverted_mrr_customers, 0) as integer) as unconverted_mrr_customers,
        cast({{ round_half_up('totals.avg_health_score', 2) }} as decimal(5, 2)) as avg_health_score,
        cast({{ round_half_up('totals.avg_churn_risk', 2) }} as decimal(5, 2)) as avg_churn_risk,
        {%- for status in statuses %}
        cast(coalesce(totals.{{ status }}_customers, 0) as integer) as {{ status }}_customers,
        cast(totals.{{ status }}_mrr as decimal(18, 2)) as {{ status }}_mrr,
        {%- endfor %}
        cast(
            coalesce(totals.at_risk_customers, 0) + coalesce(totals.high_risk_customers, 0) as integer
        ) as at_risk_count,
        cast(coalesce(totals.critical_customers, 0) as integer) as critical_count,
        cast(coalesce(totals.customers_with_risk_signals, 0) as integer) as customers_with_risk_signals

    from totals
    cross join unconverted_list

)

select * from final
