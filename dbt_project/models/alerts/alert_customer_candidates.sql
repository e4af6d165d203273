-- Customer alert candidates for T: one row per (rule, customer) that fires, with the window that makes its
-- dedupe key (doc block `alert_rules`). State rules (cancel_mention, payment_issue) use the ISO week of T, so
-- an unresolved problem is repeated at most weekly; event rules (health_drop, new_high_value,
-- large_mrr_change) use the date of the snapshot where the event happened and stay candidates for
-- var alert_lookback_days, so a missed alert run does not lose them; engagement_drop uses the last-seen date.
-- Customers of the health scope only (var `health_scope_stages`). payment_issue fires on the conditions of the
-- signals payment_delinquent and payment_failed. Severity and action come from the signal_actions seed (the
-- rule's reason: the rule itself, mrr_drop / mrr_increase for a large MRR change).

{%- set lookback_days = var('alert_lookback_days', 7) %}
{%- set drop_points = var('health_drop_points', 15) %}
{%- set drop_days = var('health_drop_days', 7) %}
{%- set high_value_mrr = var('alert_high_value_mrr', 500) %}
{%- set mrr_change_pct = var('alert_mrr_change_pct', 50) %}
{%- set quiet_days = var('alert_engagement_quiet_days', 14) %}
{%- set regular_days = var('alert_engagement_lookback_days', 30) %}
{%- set regular_snapshots = var('alert_engagement_min_active_snapshots', 3) %}
{%- set iso_week = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d').strftime('%G-W%V') %}

with

customers as (

    select * from {{ ref('unified_customers') }}

),

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

signal_actions as (

    select * from {{ ref('signal_actions') }}

),

owner_slack_ids as (

    select * from {{ ref('owner_slack_ids') }}

),

-- The assigned account manager (HubSpot owner, else Calendly host; doc block account_manager_assignment);
-- null until HubSpot is synced, or when the customer has none.
owners as (

    select
        email_key,
        am_email as owner_email

    from {{ ref('int_account_managers_assigned') }}

),

snapshots as (

    select
        email_key,
        as_of_date,
        health_score,
        health_status,
        activity_recency_score,
        mrr,
        case health_status
            when 'healthy' then 4
            when 'at_risk' then 3
            when 'high_risk' then 2
            when 'critical' then 1
        end as status_rank,
        lag(as_of_date) over customer_dates as previous_as_of_date,
        lag(health_score) over customer_dates as previous_health_score,
        lag(health_status) over customer_dates as previous_health_status,
        lag(mrr) over customer_dates as previous_mrr,
        min(as_of_date) over () as first_history_date

    from history
    window customer_dates as (partition by email_key order by as_of_date)

),

ranked_snapshots as (

    select
        *,
        case previous_health_status
            when 'healthy' then 4
            when 'at_risk' then 3
            when 'high_risk' then 2
            when 'critical' then 1
        end as previous_status_rank

    from snapshots

),

-- Snapshots old enough to tell whether a drop inside the lookback started there or earlier.
drop_range as (

    select * from ranked_snapshots
    where as_of_date > {{ dbt.dateadd('day', -1 * (lookback_days + drop_days), as_of_date()) }}

),

health_peaks as (

    select
        drop_range.email_key,
        drop_range.as_of_date,
        max(earlier.health_score) as peak_health_score

    from drop_range
    inner join ranked_snapshots as earlier
        on
            drop_range.email_key = earlier.email_key
            and drop_range.as_of_date > earlier.as_of_date
            and {{ dbt.dateadd('day', -1 * drop_days, 'drop_range.as_of_date') }} <= earlier.as_of_date
    group by drop_range.email_key, drop_range.as_of_date

),

drop_flags as (

    select
        drop_range.*,
        health_peaks.peak_health_score,
        coalesce(health_peaks.peak_health_score - drop_range.health_score >= {{ drop_points }}, false)
            as is_points_drop,
        coalesce(
            drop_range.health_status in ('high_risk', 'critical')
            and drop_range.status_rank < drop_range.previous_status_rank,
            false
        ) as is_status_step_down

    from drop_range
    left join health_peaks
        on
            drop_range.email_key = health_peaks.email_key
            and drop_range.as_of_date = health_peaks.as_of_date

),

-- An event is the first snapshot of a points drop (it stays true while the peak is within the drop window)
-- or any step down to high_risk / critical.
health_drop_events as (

    select
        *,
        lag(is_points_drop) over (partition by email_key order by as_of_date) as was_points_drop

    from drop_flags

),

lookback_events as (

    select
        'health_drop' as alert_rule,
        email_key,
        as_of_date as event_date,
        previous_health_score,
        previous_health_status,
        previous_mrr,
        case
            when is_status_step_down
                then {{ dbt.concat([
                    "'status ' ", "previous_health_status", "' -> '", "health_status",
                    "' (health '", "cast(previous_health_score as varchar)", "' -> '",
                    "cast(health_score as varchar)", "') on '", "cast(as_of_date as varchar)",
                ]) }}
            else {{ dbt.concat([
                "'health '", "cast(peak_health_score as varchar)", "' -> '", "cast(health_score as varchar)",
                "' within " ~ drop_days ~ " days, on '", "cast(as_of_date as varchar)",
            ]) }}
        end as detail,
        false as is_increase

    from health_drop_events
    where
        as_of_date > {{ dbt.dateadd('day', -1 * lookback_days, as_of_date()) }}
        and ((is_points_drop and not coalesce(was_points_drop, false)) or is_status_step_down)

    union all

    select
        'new_high_value' as alert_rule,
        email_key,
        as_of_date as event_date,
        previous_health_score,
        previous_health_status,
        previous_mrr,
        {{ dbt.concat([
            "'MRR '", "cast(mrr as varchar)",
            "case when previous_as_of_date is null then ', new customer' else "
            ~ dbt.concat(["' (was '", "coalesce(cast(previous_mrr as varchar), 'none')", "')'"]) ~ " end",
            "' on '", "cast(as_of_date as varchar)",
        ]) }} as detail,
        true as is_increase

    from ranked_snapshots
    where
        as_of_date > {{ dbt.dateadd('day', -1 * lookback_days, as_of_date()) }}
        and mrr > {{ high_value_mrr }}
        and coalesce(previous_mrr, 0) <= {{ high_value_mrr }}
        and (previous_as_of_date is not null or as_of_date > first_history_date)

    union all

    select
        'large_mrr_change' as alert_rule,
        email_key,
        as_of_date as event_date,
        previous_health_score,
        previous_health_status,
        previous_mrr,
        {{ dbt.concat([
            "'MRR '", "cast(previous_mrr as varchar)", "' -> '", "cast(coalesce(mrr, 0) as varchar)",
            "' ('", "case when coalesce(mrr, 0) > previous_mrr then '+' else '' end",
            "cast(" ~ round_half_up('(coalesce(mrr, 0) - previous_mrr) * 100.0 / previous_mrr', 1) ~ " as varchar)",
            "'%) on '", "cast(as_of_date as varchar)",
        ]) }} as detail,
        coalesce(mrr, 0) > previous_mrr as is_increase

    from ranked_snapshots
    where
        as_of_date > {{ dbt.dateadd('day', -1 * lookback_days, as_of_date()) }}
        and previous_mrr > 0
        and abs(coalesce(mrr, 0) - previous_mrr) > previous_mrr * {{ mrr_change_pct }} / 100.0

),

latest_events as (

    select
        *,
        row_number() over (partition by alert_rule, email_key order by event_date desc) as event_rank

    from lookback_events

),

current_snapshots as (

    select * from ranked_snapshots
    where as_of_date = {{ as_of_date() }}

),

regular_customers as (

    select email_key

    from history
    where
        as_of_date >= {{ dbt.dateadd('day', -1 * regular_days, as_of_date()) }}
        and as_of_date < {{ as_of_date() }}
        and activity_recency_score = 100
    group by email_key
    having count(*) >= {{ regular_snapshots }}

),

state_rules as (

    select
        'cancel_mention' as alert_rule,
        customers.email_key,
        '{{ iso_week }}' as alert_window,
        'cancel keyword in a customer message within {{ var("cancel_window_days", 30) }} days' as detail,
        false as is_increase

    from customers
    where coalesce(customers.mentioned_cancel, false)

    union all

    select
        'payment_issue' as alert_rule,
        customers.email_key,
        '{{ iso_week }}' as alert_window,
        {{ dbt.concat([
            "coalesce(customers.subscription_status, 'no subscription')",
            "case when customers.is_delinquent then ', delinquent' else '' end",
            "case when customers.payment_failed_at is not null then "
            ~ dbt.concat(["', payment failed on '", "cast(cast(customers.payment_failed_at as date) as varchar)"])
            ~ " else '' end",
        ]) }} as detail,
        false as is_increase

    from customers
    where
        {{ risk_signal_conditions()['payment_delinquent'] }}
        or {{ risk_signal_conditions()['payment_failed'] }}

    union all

    select
        'engagement_drop' as alert_rule,
        customers.email_key,
        cast(cast(customers.last_seen_at as date) as varchar) as alert_window,
        {{ dbt.concat([
            "'seen weekly until '", "cast(cast(customers.last_seen_at as date) as varchar)",
            "', not seen for '", "cast(customers.days_since_seen as varchar)", "' days'",
        ]) }} as detail,
        false as is_increase

    from customers
    inner join regular_customers
        on customers.email_key = regular_customers.email_key
    where customers.days_since_seen > {{ quiet_days }}

),

fired as (

    select
        state_rules.alert_rule,
        state_rules.email_key,
        state_rules.alert_window,
        state_rules.detail,
        state_rules.is_increase,
        current_snapshots.previous_health_score,
        current_snapshots.previous_health_status,
        current_snapshots.previous_mrr

    from state_rules
    left join current_snapshots
        on state_rules.email_key = current_snapshots.email_key

    union all

    select
        alert_rule,
        email_key,
        cast(event_date as varchar) as alert_window,
        detail,
        is_increase,
        previous_health_score,
        previous_health_status,
        previous_mrr

    from latest_events
    where event_rank = 1

),

final as (

    select
        {{ dbt.concat(["fired.alert_rule", "'|'", "fired.email_key", "'|'", "fired.alert_window"]) }} as dedupe_key,
        fired.alert_rule,
        signal_actions.severity,
        fired.alert_window,
        customers.email_key,
        customers.email,
        customers.name,
        cast(null as varchar) as source_name,
        owners.owner_email,
        owner_slack_ids.slack_user_id as owner_slack_user_id,
        customers.mrr,
        cast(case when fired.is_increase then 0 else coalesce(customers.mrr, 0) end as decimal(18, 2)) as mrr_at_risk,
        fired.previous_mrr,
        customers.health_score,
        customers.health_status,
        fired.previous_health_score,
        fired.previous_health_status,
        customers.health_score - fired.previous_health_score as health_change,
        signal_actions.recommended_action,
        fired.detail,
        customers.as_of_date

    from fired
    inner join customers
        on
            fired.email_key = customers.email_key
            and customers.is_in_health_scope
    left join signal_actions
        on
            signal_actions.signal = case
                when fired.alert_rule = 'large_mrr_change' and fired.is_increase then 'mrr_increase'
                when fired.alert_rule = 'large_mrr_change' then 'mrr_drop'
                else fired.alert_rule
            end
    left join owners
        on fired.email_key = owners.email_key
    left join owner_slack_ids
        on lower(trim(owners.owner_email)) = lower(trim(owner_slack_ids.owner_email))

)

select * from final
