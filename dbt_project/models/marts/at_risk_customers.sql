-- Customers whose health_status is at_risk, high_risk or critical, highest MRR first (risk_rank 1), ties by
-- churn_risk (desc) then email_key, with the action of their most severe signal.

with

customers as (

    select * from {{ ref('unified_customers') }}
    where health_status in ('at_risk', 'high_risk', 'critical')

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
        recommended_action,
        action_owner,
        row_number() over (partition by email_key order by severity_rank desc, signal asc) as signal_rank

    from signals

),

final as (

    select
        cast(
            row_number() over (
                order by coalesce(customers.mrr, 0) desc, customers.churn_risk desc, customers.email_key asc
            ) as integer
        ) as risk_rank,
        cast(customers.email_key as varchar) as email_key,
        cast(customers.email as varchar) as email,
        cast(customers.name as varchar) as name,
        cast(customers.mrr as decimal(18, 2)) as mrr,
        cast(customers.arr as decimal(18, 2)) as arr,
        cast(customers.health_score as integer) as health_score,
        cast(customers.health_status as varchar) as health_status,
        cast(customers.churn_risk as integer) as churn_risk,
        cast(customers.risk_signals as varchar) as risk_signals,
        cast(top_signals.top_signal as varchar) as top_signal,
        cast(top_signals.top_signal_severity as varchar) as top_signal_severity,
        cast(top_signals.top_signal_detail as varchar) as top_signal_detail,
        cast(top_signals.recommended_action as varchar) as recommended_action,
        cast(top_signals.action_owner as varchar) as action_owner,
        cast(customers.assigned_am as varchar) as assigned_am,
        cast(customers.assigned_am_email as varchar) as assigned_am_email,
        cast(customers.subscription_status as varchar) as subscription_status,
        cast(customers.days_since_seen as integer) as days_since_seen,
        cast(customers.open_tickets as integer) as open_tickets,
        cast(customers.as_of_date as date) as as_of_date

    from customers
    left join top_signals
        on
            customers.email_key = top_signals.email_key
            and top_signals.signal_rank = 1

)

select * from final
