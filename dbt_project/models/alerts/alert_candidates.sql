-- Every alert candidate for T, customer rules and the source sync rule together: what `gtm alerts` reads.
-- One row per dedupe_key (alert_rule|customer or source|window); the runner sends the keys that
-- ops.alert_history has not seen yet.

with

customer_candidates as (

    select * from {{ ref('alert_customer_candidates') }}

),

source_sync_candidates as (

    select * from {{ ref('alert_source_sync_candidates') }}

),

unioned as (

    select * from customer_candidates
    union all
    select * from source_sync_candidates

),

final as (

    select
        cast(dedupe_key as varchar) as dedupe_key,
        cast(alert_rule as varchar) as alert_rule,
        cast(severity as varchar) as severity,
        cast(alert_window as varchar) as alert_window,
        cast(email_key as varchar) as email_key,
        cast(email as varchar) as email,
        cast(name as varchar) as name,
        cast(source_name as varchar) as source_name,
        cast(owner_email as varchar) as owner_email,
        cast(owner_slack_user_id as varchar) as owner_slack_user_id,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(mrr_at_risk as decimal(18, 2)) as mrr_at_risk,
        cast(previous_mrr as decimal(18, 2)) as previous_mrr,
        cast(health_score as integer) as health_score,
        cast(health_status as varchar) as health_status,
        cast(previous_health_score as integer) as previous_health_score,
        cast(previous_health_status as varchar) as previous_health_status,
        cast(health_change as integer) as health_change,
        cast(recommended_action as varchar) as recommended_action,
        cast(detail as varchar) as detail,
        cast(as_of_date as date) as as_of_date

    from unioned

)

select * from final
