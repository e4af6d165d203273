-- One row per (customer, active risk signal) for T, with its severity, the facts behind it, and the
-- recommended action and owner from the signal_actions seed. Conditions: macro risk_signal_conditions.

{{ config(indexes=postgres_indexes(['email_key'])) }}

{%- set details = {
    'cancel_mention': dbt.concat([
        "'cancel keyword in a customer '",
        "case mentioned_cancel_source when 'meeting' then 'meeting' when 'both' then 'message and a meeting'"
        ~ " else 'message' end",
        "' within " ~ var('cancel_window_days') ~ " days'",
    ]),
    'deal_lost': dbt.concat([
        "'deal closed lost on '", "coalesce(cast(last_deal_lost_date as varchar), '?')",
    ]),
    'health_drop': dbt.concat([
        "'health '", "cast(health_score_7d_max as varchar)", "' -> '", "cast(health_score as varchar)",
        "' within " ~ var('health_drop_days') ~ " days'",
    ]),
    'inactive_30d': "case when days_since_seen is null then 'never seen' else "
        ~ dbt.concat(["'last seen '", "cast(days_since_seen as varchar)", "' days ago'"]) ~ " end",
    'low_csat': dbt.concat(["'csat '", "cast(csat_score as varchar)"]),
    'mrr_drop': dbt.concat([
        "'mrr '", "cast(previous_mrr as varchar)", "' -> '", "cast(coalesce(mrr, 0) as varchar)",
        "' ('", "coalesce(cast(mrr_change_pct as varchar), '')", "'%)'",
    ]),
    'no_owner_on_paying_account': "case when am_has_left then "
        ~ dbt.concat(["'account manager '", "assigned_am", "' has left'"])
        ~ " else 'no account manager (HubSpot owner or call host)' end",
    'onboarding_stalled': dbt.concat([
        "'onboarding '", "cast(cast(coalesce(onboarding_progress, 0) * 100 as integer) as varchar)",
        "'% done, signed up '", "cast(cast(userflow_signed_up_at as date) as varchar)",
    ]),
    'open_priority_ticket': dbt.concat([
        "cast(open_tickets as varchar)", "' open ticket(s), at least one priority'",
    ]),
    'payment_failed': dbt.concat([
        "'failed payment on '", "cast(cast(payment_failed_at as date) as varchar)", "', not recovered'",
    ]),
    'payment_delinquent': "case when subscription_status in ('past_due', 'unpaid') and is_delinquent then "
        ~ dbt.concat(["subscription_status", "', delinquent'"])
        ~ " when subscription_status in ('past_due', 'unpaid') then subscription_status"
        ~ " else 'delinquent' end",
    'repeated_no_shows': dbt.concat([
        "cast(call_no_shows_90d as varchar)", "' no-shows in " ~ var('call_window_days') ~ " days ('",
        "cast(calls_held_90d as varchar)", "' held)'",
    ]),
    'usage_decline': dbt.concat([
        "'usage '", "cast(usage_prev_30d as varchar)", "' -> '", "cast(usage_30d as varchar)",
        "' (" ~ var('usage_measure') ~ ", '", "cast(cast(usage_trend * 100 as integer) as varchar)", "'%)'",
    ]),
} %}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

signal_actions as (

    select * from {{ ref('signal_actions') }}

),

signals as (

    {%- for signal, condition in risk_signal_conditions().items() %}
    select
        email_key,
        as_of_date,
        '{{ signal }}' as signal,
        {{ details[signal] }} as detail,
        mrr,
        health_score,
        health_status,
        churn_risk
    from customers
    where {{ condition }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        cast(signals.email_key as varchar) as email_key,
        cast(signals.signal as varchar) as signal,
        cast(coalesce(signal_actions.severity, 'medium') as varchar) as severity,
        cast({{ severity_rank("coalesce(signal_actions.severity, 'medium')") }} as integer) as severity_rank,
        cast(signals.detail as varchar) as detail,
        cast(signal_actions.recommended_action as varchar) as recommended_action,
        cast(signal_actions.action_owner as varchar) as action_owner,
        cast(signals.mrr as decimal(18, 2)) as mrr,
        cast(signals.health_score as integer) as health_score,
        cast(signals.health_status as varchar) as health_status,
        cast(signals.churn_risk as integer) as churn_risk,
        cast(signals.as_of_date as date) as as_of_date

    from signals
    left join signal_actions
        on signals.signal = signal_actions.signal

)

select * from final
