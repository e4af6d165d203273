-- Health score, health status, churn risk and data-quality score per customer (metrics.md; doc block
-- `health_score`). Every sub-score, applied weight, weighted contribution and penalty is a column.
-- Phase 2 and 3 feed the same components: engagement scores product logins (logins_30d) for a person with a
-- product user, else the call show rate of the call window (engagement_basis); without an Intercom signup, tenure counts from the HubSpot
-- createdate of a contact in a customer lifecycle stage (tenure_basis).
-- customer_stage (paying, trialing, churned, lead) and is_in_health_scope (var `health_scope_stages`).
-- health_status: the bands, then the status cap (var `health_status_cap_severities`) over the signals that need
-- no history; unified_customers applies the same cap again with the history signals (mrr_drop, health_drop).
-- The MRR weighting uses mrr_native when mrr has no rate (is_fx_missing).

{%- set weights = {
    'activity_recency': var('health_weight_activity_recency'),
    'support_sentiment': var('health_weight_support_sentiment'),
    'payment_health': var('health_weight_payment_health'),
    'engagement': var('health_weight_engagement'),
    'tenure': var('health_weight_tenure'),
    'mrr_weighting': var('health_weight_mrr_weighting'),
} %}
{%- set total_weight = weights.values() | sum %}

with

customers as (

    select * from {{ ref('int_customers_unified') }}

),

component_bases as (

    select
        *,
        case
            when signup_date is not null then 'intercom_signup'
            when
                hubspot_created_at is not null
                and lifecycle_stage in ('{{ var("tenure_lifecycle_stages") | join("', '") }}')
                then 'hubspot_createdate'
        end as tenure_basis,
        case
            when logins_30d is not null then 'product_logins'
            when call_show_rate_90d is not null then 'call_show_rate'
        end as engagement_basis

    from customers

),

inputs as (

    select
        *,
        {{ dbt.datediff(
            "case tenure_basis when 'intercom_signup' then signup_date"
            ~ " when 'hubspot_createdate' then cast(hubspot_created_at as date) end",
            as_of_date(), 'day'
        ) }} as tenure_days,
        (days_since_seen is null or days_since_seen > {{ var('inactive_days') }}) as is_inactive

    from component_bases

),

sub_scores as (

    select
        *,
        {{ bucket_score(
            'days_since_seen', var('activity_recency_buckets'), '<=', var('activity_recency_floor_score')
        ) }} as activity_recency_raw,
        case
            when csat_score is not null then (csat_score - 1) * 100 / 4
        end as support_sentiment_raw,
        case
            when not coalesce(has_stripe_data, false) then null
            when subscription_status = 'active' and is_delinquent
                then {{ var('payment_health_delinquent_score') }}
            {%- for status, score in var('payment_health_scores').items() %}
            when subscription_status = '{{ status }}' then {{ score }}
            {%- endfor %}
        end as payment_health_raw,
        case engagement_basis
            when 'product_logins'
                then {{ bucket_score('logins_30d', var('engagement_buckets'), '>=') }}
            when 'call_show_rate'
                then {{ bucket_score('call_show_rate_90d', var('engagement_call_show_rate_buckets'), '>=') }}
        end as engagement_raw,
        case
            when tenure_days is not null
                then {{ bucket_score('tenure_days', var('tenure_buckets'), '<', var('tenure_max_score')) }}
        end as tenure_raw,
        case
            when coalesce(mrr, mrr_native) > 0
                then {{ bucket_score('coalesce(mrr, mrr_native)', var('mrr_weighting_buckets'), '>=') }}
        end as mrr_weighting_raw

    from inputs

),

weighted as (

    select
        *,
        (
            {%- for component, weight in weights.items() %}
            case when {{ component }}_raw is not null then {{ weight }} else 0 end
            {%- if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as present_weight,
        (
            {%- for component, weight in weights.items() %}
            coalesce({{ weight }} * {{ component }}_raw, 0)
            {%- if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as weighted_sum,
        case when mentioned_cancel then {{ var('penalty_cancel_mention') }} else 0 end as penalty_cancel_mention,
        case when is_delinquent then {{ var('penalty_delinquent') }} else 0 end as penalty_delinquent,
        case when is_inactive then {{ var('penalty_inactive') }} else 0 end as penalty_inactive,
        case
            when has_open_priority_ticket then {{ var('penalty_open_priority_ticket') }} else 0
        end as penalty_open_priority_ticket

    from sub_scores

),

based as (

    select
        *,
        cast(weighted_sum as decimal(38, 10)) / nullif(present_weight, 0) as health_base_unrounded,
        penalty_cancel_mention + penalty_delinquent + penalty_inactive + penalty_open_priority_ticket
            as penalty_total

    from weighted

),

scored as (

    select
        *,
        cast(
            {{ round_half_up('greatest(0, least(100, health_base_unrounded - penalty_total))', 0) }} as integer
        ) as health_score

    from based

),

staged as (

    select
        *,
        case
            when coalesce(has_mrr, false) then 'paying'
            when coalesce(has_trialing_subscription, false) then 'trialing'
            when coalesce(has_paid, false) then 'churned'
            else 'lead'
        end as customer_stage,
        case
            when health_score >= {{ var('health_status_healthy_min') }} then 'healthy'
            when health_score >= {{ var('health_status_at_risk_min') }} then 'at_risk'
            when health_score >= {{ var('health_status_high_risk_min') }} then 'high_risk'
            else 'critical'
        end as health_status_banded

    from scored

),

{%- set current_signals = risk_signal_conditions().keys() | reject('in', history_signal_names()) | list %}

capped as (

    select
        staged.*,
        cap_signals.cap_signal

    from staged
    left join {{ health_status_cap_signals('staged', current_signals) }} as cap_signals
        on staged.email_key = cap_signals.email_key

),

risked as (

    select
        *,
        {{ var('churn_intercept') }}
        + {{ var('churn_coef_health_gap') }} * (100 - health_score)
        + {{ var('churn_coef_mentioned_cancel') }} * case when mentioned_cancel then 1 else 0 end
        + {{ var('churn_coef_delinquent') }} * case when is_delinquent then 1 else 0 end
        + {{ var('churn_coef_inactive') }} * case when is_inactive then 1 else 0 end
            as churn_z

    from capped

),

final as (

    select
        email_key,
        email,
        name,
        intercom_contact_id,
        hubspot_contact_id,
        stripe_customer_id,
        company_name,
        location_country,
        location_city,
        signup_date,
        has_stripe_data,
        revenue_basis,
        mrr_unrounded,
        mrr,
        arr,
        mrr_native,
        currency,
        is_fx_missing,
        ltv,
        ltv_native,
        ltv_currency,
        is_ltv_fx_missing,
        has_trialing_subscription,
        payment_failed_at,
        customer_stage,
        customer_stage in ('{{ var("health_scope_stages") | join("', '") }}') as is_in_health_scope,
        plan_name,
        plan_price,
        subscription_status,
        subscription_count,
        is_delinquent,
        last_payment_amount,
        last_payment_date,
        next_renewal_date,
        last_seen_at,
        days_since_seen,
        logins_7d,
        logins_30d,
        active_days_30d,
        last_login_at,
        product_user_id,
        product_account_id,
        product_account_name,
        usage_30d,
        usage_prev_30d,
        usage_trend,
        credits_balance,
        credits_used_30d,
        credits_days_left,
        exports_30d,
        seats_purchased,
        seats_used,
        seat_utilization,
        userflow_signed_up_at,
        onboarding_progress,
        onboarding_completed_at,
        is_onboarding_stalled,
        meetings_90d,
        last_meeting_at,
        open_action_items,
        intercom_convos_total,
        intercom_convos_30d,
        open_tickets,
        has_open_priority_ticket,
        mentioned_cancel,
        mentioned_cancel_source,
        csat_score,
        last_intercom_sync,
        lifecycle_stage,
        assigned_am_owner_id,
        assigned_am,
        assigned_am_email,
        am_has_left,
        am_assignment_source,
        deal_stage,
        open_deal_count,
        open_deal_value,
        has_recent_lost_deal,
        last_deal_lost_date,
        calls_booked_90d,
        calls_held_90d,
        call_no_shows_90d,
        call_show_rate,
        call_show_rate_90d,
        last_call_at,
        days_since_last_call,
        next_call_at,
        last_hubspot_sync,
        last_calendly_sync,
        last_admin_sync,
        last_userflow_sync,
        last_fathom_sync,
        engagement_basis,
        tenure_basis,
        tenure_days,
        is_inactive,
        {%- for component, weight in weights.items() %}
        cast({{ component }}_raw as decimal(5, 2)) as {{ component }}_score,
        case when {{ component }}_raw is not null then {{ weight }} else 0 end as {{ component }}_weight_applied,
        cast(
            {{ round_half_up(
                'case when ' ~ component ~ '_raw is not null then cast(' ~ weight ~ ' * ' ~ component
                ~ '_raw as decimal(38, 10)) / present_weight else 0 end', 2
            ) }} as decimal(5, 2)
        ) as {{ component }}_contribution,
        {%- endfor %}
        cast({{ round_half_up('health_base_unrounded', 2) }} as decimal(5, 2)) as health_base,
        cast({{ round_half_up('1.0 * present_weight / ' ~ total_weight, 2) }} as decimal(5, 2)) as health_coverage,
        penalty_cancel_mention,
        penalty_delinquent,
        penalty_inactive,
        penalty_open_priority_ticket,
        penalty_total,
        health_score,
        health_status_banded,
        {{ capped_health_status('health_status_banded', 'cap_signal') }} as health_status,
        {{ health_status_capped_by('health_status_banded', 'cap_signal') }} as health_status_capped_by,
        cast({{ round_half_up('100 / (1 + exp(-1 * churn_z))', 0) }} as integer) as churn_risk,
        cast(
            least(
                100,
                case when stripe_customer_id is not null then {{ var('dq_points_stripe_id') }} else 0 end
                + case when subscription_count > 0 then {{ var('dq_points_mrr_subscription') }} else 0 end
                + case when ltv > 0 then {{ var('dq_points_ltv') }} else 0 end
                + case
                    when days_since_seen <= {{ var('dq_recent_activity_days') }}
                        then {{ var('dq_points_recent_activity') }}
                    else 0
                end
                + case
                    when nullif(trim(location_country), '') is not null or nullif(trim(location_city), '') is not null
                        then {{ var('dq_points_location') }}
                    else 0
                end
                + case when intercom_convos_total > 0 then {{ var('dq_points_conversation') }} else 0 end
                + case when csat_score is not null then {{ var('dq_points_csat') }} else 0 end
                + case when product_user_id is not null then {{ var('dq_points_product_data') }} else 0 end
            ) as integer
        ) as data_quality_score,
        match_confidence,
        source_count,
        as_of_date

    from risked

)

select * from final
