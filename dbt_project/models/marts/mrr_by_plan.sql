-- MRR per plan: the subscriptions counted in MRR (primary contacts, statuses of var mrr_statuses), grouped by
-- plan nickname ('Unknown' when missing), with the customers on it and their average health.

with

subscriptions as (

    select * from {{ ref('int_subscriptions_normalized') }}
    where is_counted_in_mrr

),

customers as (

    select * from {{ ref('unified_customers') }}

),

plan_customers as (

    select
        coalesce(nullif(trim(plan_nickname), ''), 'Unknown') as plan_name,
        email_key,
        count(*) as subscriptions,
        sum(monthly_amount_unrounded) as mrr_unrounded

    from subscriptions
    group by 1, 2

),

plans as (

    select
        plan_customers.plan_name,
        count(*) as customers,
        sum(plan_customers.subscriptions) as subscriptions,
        sum(plan_customers.mrr_unrounded) as mrr_unrounded,
        avg(customers.health_score) as avg_health_score

    from plan_customers
    left join customers
        on plan_customers.email_key = customers.email_key
    group by 1

),

final as (

    select
        cast(plan_name as varchar) as plan_name,
        cast(customers as integer) as customers,
        cast(subscriptions as integer) as subscriptions,
        cast({{ round_half_up('mrr_unrounded', 2) }} as decimal(18, 2)) as mrr,
        cast({{ round_half_up('mrr_unrounded * 12', 2) }} as decimal(18, 2)) as arr,
        cast(
            {{ round_half_up('mrr_unrounded / nullif(sum(mrr_unrounded) over (), 0)', 4) }} as decimal(7, 4)
        ) as share_of_mrr,
        cast({{ round_half_up('avg_health_score', 2) }} as decimal(5, 2)) as avg_health_score,
        {{ as_of_date() }} as as_of_date

    from plans

)

select * from final
