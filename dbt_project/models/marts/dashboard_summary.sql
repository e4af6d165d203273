-- One row for T: customer counts, MRR / ARR, average health, and the health distribution (count and MRR per
-- status), with the names of seed 001's dashboard summary (at_risk_count = at_risk + high_risk customers).

{%- set statuses = ['healthy', 'at_risk', 'high_risk', 'critical'] %}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

totals as (

    select
        count(*) as total_customers,
        sum(case when mrr > 0 then 1 else 0 end) as paying_customers,
        coalesce(sum(mrr), 0) as total_mrr,
        coalesce(sum(arr), 0) as total_arr,
        avg(health_score) as avg_health_score,
        avg(churn_risk) as avg_churn_risk,
        {%- for status in statuses %}
        sum(case when health_status = '{{ status }}' then 1 else 0 end) as {{ status }}_customers,
        coalesce(sum(case when health_status = '{{ status }}' then mrr end), 0) as {{ status }}_mrr,
        {%- endfor %}
        sum(case when risk_signals != '' then 1 else 0 end) as customers_with_risk_signals

    from customers

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(total_customers as integer) as total_customers,
        cast(coalesce(paying_customers, 0) as integer) as paying_customers,
        cast(total_mrr as decimal(18, 2)) as total_mrr,
        cast(total_arr as decimal(18, 2)) as total_arr,
        cast({{ round_half_up('avg_health_score', 2) }} as decimal(5, 2)) as avg_health_score,
        cast({{ round_half_up('avg_churn_risk', 2) }} as decimal(5, 2)) as avg_churn_risk,
        {%- for status in statuses %}
        cast(coalesce({{ status }}_customers, 0) as integer) as {{ status }}_customers,
        cast({{ status }}_mrr as decimal(18, 2)) as {{ status }}_mrr,
        {%- endfor %}
        cast(coalesce(at_risk_customers, 0) + coalesce(high_risk_customers, 0) as integer) as at_risk_count,
        cast(coalesce(critical_customers, 0) as integer) as critical_count,
        cast(coalesce(customers_with_risk_signals, 0) as integer) as customers_with_risk_signals

    from totals

)

select * from final
