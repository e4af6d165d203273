-- One row per (customer, as-of date): the daily health snapshot. Incremental, delete+insert on as_of_date:
-- a rebuild for the same T replaces that date's rows (a customer who vanished does not linger), never
-- duplicates; other dates are kept. unified_customers reads the earlier dates for the drop signals,
-- customer_health_trends for the 7/30-day deltas, and the report marts for their weeks, months and quarters.
-- health_status is capped by the signals that need no history (the trend signals mrr_drop and health_drop
-- cap unified_customers only); customer_stage and is_in_health_scope let reports and digests keep to the
-- health scope (null on snapshots written before they existed: counted as in scope).

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='append_new_columns',
    )
}}

with

customers as (

    select * from {{ ref('int_customers_health_scored') }}

),

final as (

    select
        cast(email_key as varchar) as email_key,
        cast(as_of_date as date) as as_of_date,
        cast(health_score as integer) as health_score,
        cast(health_status as varchar) as health_status,
        cast(health_status_capped_by as varchar) as health_status_capped_by,
        cast(customer_stage as varchar) as customer_stage,
        cast(is_in_health_scope as boolean) as is_in_health_scope,
        cast(health_base as decimal(5, 2)) as health_base,
        cast(health_coverage as decimal(5, 2)) as health_coverage,
        cast(activity_recency_score as decimal(5, 2)) as activity_recency_score,
        cast(support_sentiment_score as decimal(5, 2)) as support_sentiment_score,
        cast(payment_health_score as decimal(5, 2)) as payment_health_score,
        cast(engagement_score as decimal(5, 2)) as engagement_score,
        cast(tenure_score as decimal(5, 2)) as tenure_score,
        cast(mrr_weighting_score as decimal(5, 2)) as mrr_weighting_score,
        cast(penalty_total as integer) as penalty_total,
        cast(mrr as decimal(18, 2)) as mrr,
        cast(churn_risk as integer) as churn_risk,
        cast(data_quality_score as integer) as data_quality_score,
        cast(plan_name as varchar) as plan_name,
        cast(subscription_status as varchar) as subscription_status

    from customers

)

select * from final
