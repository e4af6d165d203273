{#- The risk signals of metrics.md as signal name -> SQL condition over unified_customers' columns, sorted by
    name (the order of the comma-separated risk_signals list). mrr_drop and health_drop compare with earlier
    snapshots (history_signal_names): only unified_customers, which reads the history, can evaluate them. One definition for unified_customers (the list)
    and customer_risk_signals (the long table). no_owner_on_paying_account needs HubSpot data (an account
    without CRM data has no known owner, not no owner). -#}
{% macro risk_signal_conditions() -%}
    {%- do return({
        'cancel_mention': "coalesce(mentioned_cancel, false)",
        'deal_lost': "coalesce(has_recent_lost_deal, false)",
        'health_drop': "(health_score_7d_max is not null and health_score_7d_max - health_score >= "
            ~ var('health_drop_points') ~ ")",
        'inactive_30d': "(days_since_seen is null or days_since_seen > " ~ var('inactive_days') ~ ")",
        'low_csat': "coalesce(csat_score < " ~ var('low_csat_threshold') ~ ", false)",
        'mrr_drop': "(previous_mrr > 0 and coalesce(mrr, 0) < previous_mrr * (1 - "
            ~ var('mrr_drop_pct') ~ " / 100.0))",
        'no_owner_on_paying_account': "(last_hubspot_sync is not null and coalesce(mrr, 0) > 0"
            ~ " and (assigned_am_owner_id is null or coalesce(am_has_left, false)))",
        'open_priority_ticket': "coalesce(has_open_priority_ticket, false)",
        'payment_failed': "payment_failed_at is not null",
        'payment_delinquent': "(coalesce(is_delinquent, false) or coalesce(subscription_status in ('past_due', 'unpaid'), false))",
        'repeated_no_shows': "coalesce(call_no_shows_90d >= " ~ var('repeated_no_shows_min') ~ ", false)",
    }) -%}
{%- endmacro %}

{#- The signals that need earlier health snapshots (previous_mrr, health_score_7d_max). -#}
{% macro history_signal_names() -%}
    {%- do return(['health_drop', 'mrr_drop']) -%}
{%- endmacro %}
