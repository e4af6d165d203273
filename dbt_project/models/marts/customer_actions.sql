-- One row per (customer, reason) for T: what to do, who does it, by when (metrics.md, At risk, exit state and
-- actions). Reasons are the customer's risk signals (customer_risk_signals), opportunities
-- (customer_opportunities) and exit state (customer_exit_states, except healthy); the signal_actions seed
-- gives each reason its priority, action, owner role, due days and skill. At most var
-- `max_actions_per_customer` actions per customer, by priority (action_rank 1 first). The owner person is the
-- assigned AM for account_manager actions; other roles are teams.

{{ config(indexes=postgres_indexes(['email_key'])) }}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

signals as (

    select * from {{ ref('customer_risk_signals') }}

),

opportunities as (

    select * from {{ ref('customer_opportunities') }}

),

exit_states as (

    select * from {{ ref('customer_exit_states') }}

),

playbook as (

    select * from {{ ref('signal_actions') }}

),

reasons as (

    select
        email_key,
        signal as reason,
        detail

    from signals

    union all

    select
        email_key,
        opportunity as reason,
        detail

    from opportunities

    union all

    select
        email_key,
        exit_state as reason,
        exit_state_reason as detail

    from exit_states
    where exit_state != 'healthy'

),

ranked as (

    select
        reasons.email_key,
        reasons.reason,
        reasons.detail,
        playbook.reason_type,
        playbook.severity,
        playbook.priority,
        playbook.recommended_action,
        playbook.action_owner,
        playbook.due_days,
        playbook.skill,
        row_number() over (
            partition by reasons.email_key order by playbook.priority asc, reasons.reason asc
        ) as action_rank

    from reasons
    inner join playbook
        on reasons.reason = playbook.signal

),

final as (

    select
        cast(ranked.email_key as varchar) as email_key,
        cast(ranked.action_rank as integer) as action_rank,
        cast(ranked.reason as varchar) as reason,
        cast(ranked.reason_type as varchar) as reason_type,
        cast(ranked.severity as varchar) as severity,
        cast(ranked.priority as integer) as priority,
        cast(ranked.detail as varchar) as detail,
        cast(ranked.recommended_action as varchar) as recommended_action,
        cast(ranked.action_owner as varchar) as action_owner,
        cast(case when ranked.action_owner = 'account_manager' then customers.assigned_am end as varchar)
            as owner_name,
        cast(case when ranked.action_owner = 'account_manager' then customers.assigned_am_email end as varchar)
            as owner_email,
        cast(ranked.due_days as integer) as due_days,
        cast({{ dbt.dateadd('day', 'ranked.due_days', as_of_date()) }} as date) as due_date,
        cast(ranked.skill as varchar) as skill,
        cast(customers.customer_stage as varchar) as customer_stage,
        cast(customers.is_in_health_scope as boolean) as is_in_health_scope,
        cast(customers.mrr as decimal(18, 2)) as mrr,
        cast(customers.as_of_date as date) as as_of_date

    from ranked
    inner join customers
        on ranked.email_key = customers.email_key
    where ranked.action_rank <= {{ var('max_actions_per_customer') }}

)

select * from final
