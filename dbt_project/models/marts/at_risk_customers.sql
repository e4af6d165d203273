-- The customers at risk for T (metrics.md, At risk): in the health scope (var `health_scope_stages`) and
-- health_status not healthy. Highest MRR first (risk_rank 1; MRR without a rate ranks by its native amount),
-- ties by churn_risk (desc) then email_key, with the exit state and the customer's first action
-- (customer_actions, action_rank 1).

with

customers as (

    select * from {{ ref('unified_customers') }}
    where is_in_health_scope and health_status != 'healthy'

),

exit_states as (

    select * from {{ ref('customer_exit_states') }}

),

actions as (

    select * from {{ ref('customer_actions') }}
    where action_rank = 1

),

signals as (

    select * from {{ ref('customer_risk_signals') }}

),

top_signals as (

    select
        email_key,
        signal as top_signal,
        severity as top_signal_severity,
        detail as top_signal_detail,
        row_number() over (partition by email_key order by severity_rank desc, signal asc) as signal_rank

    from signals

),

final as (

    select
        cast(
            row_number() over (
                order by
                    coalesce(customers.mrr, customers.mrr_native, 0) desc,
                    customers.churn_risk desc,
                    customers.email_key asc
            ) as integer
        ) as risk_rank,
        cast(customers.email_key as varchar) as email_key,
        cast(customers.email as varchar) as email,
        cast(customers.name as varchar) as name,
        cast(customers.customer_stage as varchar) as customer_stage,
        cast(customers.mrr as decimal(18, 2)) as mrr,
        cast(customers.arr as decimal(18, 2)) as arr,
        cast(customers.mrr_native as decimal(18, 2)) as mrr_native,
        cast(customers.currency as varchar) as currency,
        cast(customers.is_fx_missing as boolean) as is_fx_missing,
        cast(customers.health_score as integer) as health_score,
        cast(customers.health_status as varchar) as health_status,
        cast(customers.health_status_capped_by as varchar) as health_status_capped_by,
        cast(customers.churn_risk as integer) as churn_risk,
        cast(customers.risk_signals as varchar) as risk_signals,
        cast(exit_states.exit_state as varchar) as exit_state,
        cast(top_signals.top_signal as varchar) as top_signal,
        cast(top_signals.top_signal_severity as varchar) as top_signal_severity,
        cast(top_signals.top_signal_detail as varchar) as top_signal_detail,
        cast(actions.reason as varchar) as action_reason,
        cast(actions.recommended_action as varchar) as recommended_action,
        cast(actions.action_owner as varchar) as action_owner,
        cast(actions.owner_name as varchar) as action_owner_name,
        cast(actions.due_date as date) as action_due_date,
        cast(customers.assigned_am as varchar) as assigned_am,
        cast(customers.assigned_am_email as varchar) as assigned_am_email,
        cast(customers.subscription_status as varchar) as subscription_status,
        cast(customers.days_since_seen as integer) as days_since_seen,
        cast(customers.open_tickets as integer) as open_tickets,
        cast(customers.as_of_date as date) as as_of_date

    from customers
    left join exit_states
        on customers.email_key = exit_states.email_key
    left join actions
        on customers.email_key = actions.email_key
    left join top_signals
        on
            customers.email_key = top_signals.email_key
            and top_signals.signal_rank = 1

)

select * from final
