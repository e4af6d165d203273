{#- The risk signals of metrics.md as signal name -> SQL condition over unified_customers' columns, sorted by
    name (the order of the comma-separated risk_signals list). One definition for unified_customers (the list)
    and customer_risk_signals (the long table). -#}
{% macro risk_signal_conditions() -%}
    {%- do return({
        'cancel_mention': "coalesce(mentioned_cancel, false)",
        'health_drop': "(health_score_7d_max is not null and health_score_7d_max - health_score >= "
            ~ var('health_drop_points') ~ ")",
        'inactive_30d': "(days_since_seen is null or days_since_seen > " ~ var('inactive_days') ~ ")",
        'low_csat': "coalesce(csat_score < " ~ var('low_csat_threshold') ~ ", false)",
        'mrr_drop': "(previous_mrr > 0 and coalesce(mrr, 0) < previous_mrr * (1 - "
            ~ var('mrr_drop_pct') ~ " / 100.0))",
        'open_priority_ticket': "coalesce(has_open_priority_ticket, false)",
        'payment_delinquent': "(coalesce(is_delinquent, false) or coalesce(subscription_status in ('past_due', 'unpaid'), false))",
    }) -%}
{%- endmacro %}
