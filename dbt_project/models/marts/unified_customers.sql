-- The unified customer record: one row per email_key for the as-of date T, with the fields of the field-mapping specification's
-- mapping, every health component, penalty, churn risk, data quality, and the risk signals (trend signals
-- compare with earlier snapshots in customer_health_history; health_trend and the 7/30-day deltas come from
-- customer_health_trends). health_status: the bands capped by any signal of var `health_status_cap_severities`
-- (health_status_capped_by names it), the history signals included.

{{ config(indexes=postgres_indexes(['email_key'])) }}

{%- set components = ['activity_recency', 'support_sentiment', 'payment_health', 'engagement', 'tenure', 'mrr_weighting'] %}

with

customers as (

    select * from {{ ref('int_customers_health_scored') }}

),

history as (

    select * from {{ ref('customer_health_history') }}
    where
        as_of_date < {{ as_of_date() }}
        and as_of_date >= {{ history_window_start() }}

),

previous_snapshots as (

    select
        email_key,
        as_of_date as previous_as_of_date,
        mrr as previous_mrr,
        row_number() over (partition by email_key order by as_of_date desc) as snapshot_rank

    from history

),

overall_trends as (

    select * from {{ ref('customer_health_trends') }}
    where dimension = 'overall'

),

recent_health as (

    select
        email_key,
        max(health_score) as health_score_7d_max

    from history
    where as_of_date >= {{ dbt.dateadd('day', -1 * var('health_drop_days'), as_of_date()) }}
    group by email_key

),

trended as (

    select
        customers.*,
        previous_snapshots.previous_as_of_date,
        previous_snapshots.previous_mrr,
        case
            when previous_snapshots.previous_mrr > 0
                then {{ round_half_up(
                    '(coalesce(customers.mrr, 0) - previous_snapshots.previous_mrr) * 100.0'
                    ~ ' / previous_snapshots.previous_mrr', 2
                ) }}
        end as mrr_change_pct,
        recent_health.health_score_7d_max,
        overall_trends.delta_7d as health_delta_7d,
        overall_trends.delta_30d as health_delta_30d,
        coalesce(overall_trends.trend, 'insufficient_history') as health_trend

    from customers
    left join previous_snapshots
        on
            customers.email_key = previous_snapshots.email_key
            and previous_snapshots.snapshot_rank = 1
    left join recent_health
        on customers.email_key = recent_health.email_key
    left join overall_trends
        on customers.email_key = overall_trends.email_key

),

signals as (

    {%- for signal, condition in risk_signal_conditions().items() %}
    select
        email_key,
        '{{ signal }}' as signal
    from trended
    where {{ condition }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

cap_signals as (

    select * from {{ health_status_cap_signals("trended") }} as capping_signals

),

signal_lists as (

    select
        email_key,
        {{ dbt.listagg('signal', "','", 'order by signal') }} as risk_signals

    from signals
    group by email_key

),

final as (

    select
        cast(trended.as_of_date as date) as as_of_date,
        cast(trended.email_key as varchar) as email_key,
        cast(trended.email as varchar) as email,
        cast(trended.name as varchar) as name,
        cast(trended.intercom_contact_id as varchar) as intercom_contact_id,
        cast(trended.hubspot_contact_id as varchar) as hubspot_contact_id,
        cast(trended.stripe_customer_id as varchar) as stripe_customer_id,
        cast(trended.location_country as varchar) as location_country,
        cast(trended.location_city as varchar) as location_city,
        cast(trended.signup_date as date) as signup_date,
        cast(trended.company_name as varchar) as company_name,
        cast(trended.lifecycle_stage as varchar) as lifecycle_stage,
        cast(trended.assigned_am as varchar) as assigned_am,
        cast(trended.assigned_am_email as varchar) as assigned_am_email,
        cast(trended.assigned_am_owner_id as varchar) as assigned_am_owner_id,
        cast(trended.am_has_left as boolean) as am_has_left,
        cast(trended.am_assignment_source as varchar) as am_assignment_source,
        cast(trended.mrr as decimal(18, 2)) as mrr,
        cast(trended.arr as decimal(18, 2)) as arr,
        cast(trended.mrr_native as decimal(18, 2)) as mrr_native,
        cast(trended.currency as varchar) as currency,
        cast(trended.is_fx_missing as boolean) as is_fx_missing,
        cast(trended.ltv as decimal(18, 2)) as ltv,
        cast(trended.ltv_native as decimal(18, 2)) as ltv_native,
        cast(trended.ltv_currency as varchar) as ltv_currency,
        cast(trended.is_ltv_fx_missing as boolean) as is_ltv_fx_missing,
        cast(trended.customer_stage as varchar) as customer_stage,
        cast(trended.is_in_health_scope as boolean) as is_in_health_scope,
        cast(trended.plan_name as varchar) as plan_name,
        cast(trended.plan_price as decimal(18, 2)) as plan_price,
        cast(trended.subscription_status as varchar) as subscription_status,
        cast(trended.subscription_count as integer) as subscription_count,
        cast(trended.is_delinquent as boolean) as is_delinquent,
        cast(trended.payment_failed_at as {{ dbt.type_timestamp() }}) as payment_failed_at,
        cast(trended.revenue_basis as varchar) as revenue_basis,
        cast(trended.last_payment_amount as decimal(18, 2)) as last_payment_amount,
        cast(trended.last_payment_date as date) as last_payment_date,
        cast(trended.next_renewal_date as date) as next_renewal_date,
        cast(
            {{ dbt.datediff(as_of_date(), 'trended.next_renewal_date', 'day') }} as integer
        ) as days_to_renewal,
        cast(trended.previous_as_of_date as date) as previous_as_of_date,
        cast(trended.previous_mrr as decimal(18, 2)) as previous_mrr,
        cast(trended.mrr_change_pct as decimal(18, 2)) as mrr_change_pct,
        cast(trended.last_seen_at as {{ dbt.type_timestamp() }}) as last_seen_at,
        cast(trended.days_since_seen as integer) as days_since_seen,
        cast(trended.logins_7d as integer) as logins_7d,
        cast(trended.logins_30d as integer) as logins_30d,
        cast(trended.active_days_30d as integer) as active_days_30d,
        cast(trended.last_login_at as {{ dbt.type_timestamp() }}) as last_login_at,
        cast(trended.product_account_id as bigint) as product_account_id,
        cast(trended.product_account_name as varchar) as product_account_name,
        cast(trended.usage_30d as bigint) as usage_30d,
        cast(trended.usage_prev_30d as bigint) as usage_prev_30d,
        cast(trended.usage_trend as decimal(9, 4)) as usage_trend,
        cast(trended.credits_balance as bigint) as credits_balance,
        cast(trended.credits_used_30d as bigint) as credits_used_30d,
        cast(trended.credits_days_left as decimal(12, 1)) as credits_days_left,
        cast(trended.exports_30d as integer) as exports_30d,
        cast(trended.seats_purchased as integer) as seats_purchased,
        cast(trended.seats_used as integer) as seats_used,
        cast(trended.seat_utilization as decimal(9, 4)) as seat_utilization,
        cast(trended.userflow_signed_up_at as {{ dbt.type_timestamp() }}) as userflow_signed_up_at,
        cast(trended.onboarding_progress as decimal(5, 4)) as onboarding_progress,
        cast(trended.onboarding_completed_at as {{ dbt.type_timestamp() }}) as onboarding_completed_at,
        cast(trended.is_onboarding_stalled as boolean) as is_onboarding_stalled,
        cast(trended.meetings_90d as integer) as meetings_90d,
        cast(trended.last_meeting_at as {{ dbt.type_timestamp() }}) as last_meeting_at,
        cast(trended.open_action_items as integer) as open_action_items,
        cast(trended.intercom_convos_total as integer) as intercom_convos_total,
        cast(trended.intercom_convos_30d as integer) as intercom_convos_30d,
        cast(trended.open_tickets as integer) as open_tickets,
        cast(trended.has_open_priority_ticket as boolean) as has_open_priority_ticket,
        cast(trended.mentioned_cancel as boolean) as mentioned_cancel,
        cast(trended.mentioned_cancel_source as varchar) as mentioned_cancel_source,
        cast(trended.csat_score as decimal(5, 2)) as csat_score,
        cast(trended.last_intercom_sync as {{ dbt.type_timestamp() }}) as last_intercom_sync,
        cast(trended.calls_booked_90d as integer) as calls_booked_90d,
        cast(trended.calls_held_90d as integer) as calls_held_90d,
        cast(trended.call_no_shows_90d as integer) as call_no_shows_90d,
        cast(trended.call_show_rate as decimal(5, 4)) as call_show_rate,
        cast(trended.call_show_rate_90d as decimal(5, 4)) as call_show_rate_90d,
        cast(trended.last_call_at as {{ dbt.type_timestamp() }}) as last_call_at,
        cast(trended.days_since_last_call as integer) as days_since_last_call,
        cast(trended.next_call_at as {{ dbt.type_timestamp() }}) as next_call_at,
        cast(trended.deal_stage as varchar) as deal_stage,
        cast(trended.open_deal_count as integer) as open_deal_count,
        cast(trended.open_deal_value as decimal(18, 2)) as open_deal_value,
        cast(trended.has_recent_lost_deal as boolean) as has_recent_lost_deal,
        cast(trended.last_deal_lost_date as date) as last_deal_lost_date,
        cast(trended.last_hubspot_sync as {{ dbt.type_timestamp() }}) as last_hubspot_sync,
        cast(trended.last_calendly_sync as {{ dbt.type_timestamp() }}) as last_calendly_sync,
        cast(trended.last_admin_sync as {{ dbt.type_timestamp() }}) as last_admin_sync,
        cast(trended.last_userflow_sync as {{ dbt.type_timestamp() }}) as last_userflow_sync,
        cast(trended.last_fathom_sync as {{ dbt.type_timestamp() }}) as last_fathom_sync,
        cast(trended.engagement_basis as varchar) as engagement_basis,
        cast(trended.tenure_basis as varchar) as tenure_basis,
        {%- for component in components %}
        cast(trended.{{ component }}_score as decimal(5, 2)) as {{ component }}_score,
        cast(trended.{{ component }}_weight_applied as integer) as {{ component }}_weight_applied,
        cast(trended.{{ component }}_contribution as decimal(5, 2)) as {{ component }}_contribution,
        {%- endfor %}
        cast(trended.health_base as decimal(5, 2)) as health_base,
        cast(trended.health_coverage as decimal(5, 2)) as health_coverage,
        cast(trended.penalty_cancel_mention as integer) as penalty_cancel_mention,
        cast(trended.penalty_delinquent as integer) as penalty_delinquent,
        cast(trended.penalty_inactive as integer) as penalty_inactive,
        cast(trended.penalty_open_priority_ticket as integer) as penalty_open_priority_ticket,
        cast(trended.penalty_total as integer) as penalty_total,
        cast(trended.health_score as integer) as health_score,
        cast(trended.health_score_7d_max as integer) as health_score_7d_max,
        cast(
            {{ capped_health_status('trended.health_status_banded', 'cap_signals.cap_signal') }} as varchar
        ) as health_status,
        cast(
            {{ health_status_capped_by('trended.health_status_banded', 'cap_signals.cap_signal') }} as varchar
        ) as health_status_capped_by,
        cast(trended.health_delta_7d as integer) as health_delta_7d,
        cast(trended.health_delta_30d as integer) as health_delta_30d,
        cast(trended.health_trend as varchar) as health_trend,
        cast(trended.churn_risk as integer) as churn_risk,
        cast(coalesce(signal_lists.risk_signals, '') as varchar) as risk_signals,
        cast(trended.data_quality_score as integer) as data_quality_score,
        cast(trended.match_confidence as varchar) as match_confidence,
        cast(trended.source_count as integer) as source_count

    from trended
    left join signal_lists
        on trended.email_key = signal_lists.email_key
    left join cap_signals
        on trended.email_key = cap_signals.email_key

)

select * from final
