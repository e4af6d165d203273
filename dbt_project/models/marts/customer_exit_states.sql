-- One row per customer for T: the exit state of the customer 360 specification, the first rule that holds (metrics.md, At risk, exit
-- state and actions), with the rule's number and the facts behind it:
--   1 at_risk              health_status high_risk or critical, or a critical signal
--   2 escalation_required  an open priority ticket
--   3 expansion_ready      an opportunity and health_score > var `expansion_min_health`
--   4 renewal_focus        a renewal within var `renewal_window_days` days and no call booked before it
--   5 attention_needed     health_status at_risk or a medium signal
--   6 healthy

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

signal_flags as (

    select
        email_key,
        max(case when severity = 'critical' then signal end) as critical_signal,
        max(case when severity = 'medium' then signal end) as medium_signal

    from signals
    group by email_key

),

opportunity_flags as (

    select
        email_key,
        max(opportunity) as opportunity

    from opportunities
    group by email_key

),

flagged as (

    select
        customers.*,
        signal_flags.critical_signal,
        signal_flags.medium_signal,
        opportunity_flags.opportunity,
        (
            customers.days_to_renewal between 0 and {{ var('renewal_window_days') }}
            and (
                customers.next_call_at is null
                or cast(customers.next_call_at as date) > customers.next_renewal_date
            )
        ) as is_renewal_unbooked

    from customers
    left join signal_flags
        on customers.email_key = signal_flags.email_key
    left join opportunity_flags
        on customers.email_key = opportunity_flags.email_key

),

ruled as (

    select
        *,
        case
            when health_status in ('high_risk', 'critical') or critical_signal is not null then 1
            when has_open_priority_ticket then 2
            when opportunity is not null and health_score > {{ var('expansion_min_health') }} then 3
            when is_renewal_unbooked then 4
            when health_status = 'at_risk' or medium_signal is not null then 5
            else 6
        end as exit_state_rule

    from flagged

),

final as (

    select
        cast(email_key as varchar) as email_key,
        cast(
            case exit_state_rule
                when 1 then 'at_risk'
                when 2 then 'escalation_required'
                when 3 then 'expansion_ready'
                when 4 then 'renewal_focus'
                when 5 then 'attention_needed'
                else 'healthy'
            end as varchar
        ) as exit_state,
        cast(exit_state_rule as integer) as exit_state_rule,
        cast(
            case
                when exit_state_rule = 1 and health_status in ('high_risk', 'critical')
                    then {{ dbt.concat(["'health_status '", "health_status"]) }}
                when exit_state_rule = 1
                    then {{ dbt.concat(["'critical signal '", "critical_signal"]) }}
                when exit_state_rule = 2 then 'open priority ticket'
                when exit_state_rule = 3
                    then {{ dbt.concat(["opportunity", "', health '", "cast(health_score as varchar)"]) }}
                when exit_state_rule = 4
                    then {{ dbt.concat([
                        "'renewal in '", "cast(days_to_renewal as varchar)", "' days, no call booked'",
                    ]) }}
                when exit_state_rule = 5 and health_status = 'at_risk' then 'health_status at_risk'
                when exit_state_rule = 5
                    then {{ dbt.concat(["'medium signal '", "medium_signal"]) }}
            end as varchar
        ) as exit_state_reason,
        cast(customer_stage as varchar) as customer_stage,
        cast(is_in_health_scope as boolean) as is_in_health_scope,
        cast(health_score as integer) as health_score,
        cast(health_status as varchar) as health_status,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(assigned_am as varchar) as assigned_am,
        cast(as_of_date as date) as as_of_date

    from ruled

)

select * from final
