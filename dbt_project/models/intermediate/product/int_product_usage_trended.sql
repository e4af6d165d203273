-- The usage measure per person (var `usage_measure`: credits used, exports or logins of the person's product
-- users) in the 30 days before T (to the end of T's day) and in the 30 days before those, and the trend
-- (usage_30d - usage_prev_30d) / usage_prev_30d, null when usage_prev_30d is below var
-- `usage_trend_min_volume`. Doc block `product_usage`. Only the events of the two windows are read (the
-- others would add zeros), so the join to the users carries 60 days of events, not the whole history.

{%- set window = var('usage_window_days') %}
{%- set measure = var('usage_measure') %}

with

users as (

    select * from {{ ref('int_product_users_matched') }}

),

{%- if measure == 'credits' %}

usage_events as (

    select
        user_id,
        occurred_at as used_at,
        credits_used as amount

    from {{ ref('stg_admin__credit_transactions') }}
    where credits_used > 0 and {{ in_days_before_as_of('occurred_at', 2 * window) }}

),
{%- elif measure == 'exports' %}

usage_events as (

    select
        user_id,
        exported_at as used_at,
        1 as amount

    from {{ ref('stg_admin__exports') }}
    where {{ in_days_before_as_of('exported_at', 2 * window) }}

),
{%- elif measure == 'logins' %}

usage_events as (

    select
        user_id,
        logged_in_at as used_at,
        1 as amount

    from {{ ref('stg_admin__logins') }}
    where {{ in_days_before_as_of('logged_in_at', 2 * window) }}

),
{%- else %}
{{ exceptions.raise_compiler_error("var usage_measure must be credits, exports or logins, not " ~ measure) }}
{%- endif %}

people as (

    select distinct email_key

    from users

),

windows as (

    select
        users.email_key,
        sum(
            case when {{ in_days_before_as_of('usage_events.used_at', window) }} then usage_events.amount else 0 end
        ) as usage_current,
        sum(
            case
                when {{ in_days_before_as_of('usage_events.used_at', 2 * window, window) }}
                    then usage_events.amount
                else 0
            end
        ) as usage_previous

    from usage_events
    inner join users
        on usage_events.user_id = users.user_id
    group by users.email_key

),

final as (

    select
        people.email_key,
        cast(coalesce(windows.usage_current, 0) as bigint) as usage_30d,
        cast(coalesce(windows.usage_previous, 0) as bigint) as usage_prev_30d,
        cast(
            case
                when
                    coalesce(windows.usage_previous, 0) >= {{ var('usage_trend_min_volume') }}
                    and windows.usage_previous > 0
                    then {{ round_half_up(
                        'cast(windows.usage_current - windows.usage_previous as decimal(18, 6))'
                        ~ ' / windows.usage_previous', 4
                    ) }}
            end as decimal(9, 4)
        ) as usage_trend

    from people
    left join windows
        on people.email_key = windows.email_key

)

select * from final
