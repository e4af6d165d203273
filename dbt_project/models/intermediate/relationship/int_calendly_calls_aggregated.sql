-- Calls per customer (email_key) from their Calendly bookings with a valid email made by the end of T's day
-- (metrics.md, Calls):
-- bookings made, calls held and no-shows in the var `call_window_days` (90) days before T, the show rate over
-- every past call, the latest held call and the next upcoming one. Doc block `calls_metrics`.

with

calls as (

    select * from {{ ref('int_calendly_calls_classified') }}
    where is_valid_email and {{ known_by_end_of_as_of('booked_at') }}

),

latest_bookings as (

    select
        email_key,
        email,
        invitee_name,
        row_number() over (
            partition by email_key order by booked_at desc nulls last, invitee_uri desc
        ) as booking_rank

    from calls

),

totals as (

    select
        email_key,
        sum(
            case when is_booked_in_call_window and old_invitee_uri is null then 1 else 0 end
        ) as calls_booked_window,
        sum(case when is_in_call_window and call_outcome = 'held' then 1 else 0 end) as calls_held_window,
        sum(case when is_in_call_window and call_outcome = 'no_show' then 1 else 0 end) as call_no_shows_window,
        sum(case when call_outcome = 'held' then 1 else 0 end) as calls_held_total,
        sum(case when call_outcome = 'no_show' then 1 else 0 end) as call_no_shows_total,
        max(case when call_outcome = 'held' then end_at end) as last_call_at,
        min(case when call_outcome = 'upcoming' then start_at end) as next_call_at

    from calls
    group by email_key

),

final as (

    select
        totals.email_key,
        latest_bookings.email,
        latest_bookings.invitee_name,
        cast(totals.calls_booked_window as integer) as calls_booked_90d,
        cast(totals.calls_held_window as integer) as calls_held_90d,
        cast(totals.call_no_shows_window as integer) as call_no_shows_90d,
        cast(totals.calls_held_total as integer) as calls_held_total,
        cast(totals.call_no_shows_total as integer) as call_no_shows_total,
        cast(
            case
                when totals.calls_held_total + totals.call_no_shows_total > 0
                    then {{ round_half_up(
                        'cast(totals.calls_held_total as decimal(18, 4))'
                        ~ ' / (totals.calls_held_total + totals.call_no_shows_total)', 4
                    ) }}
            end as decimal(5, 4)
        ) as call_show_rate,
        cast(
            case
                when totals.calls_held_window + totals.call_no_shows_window > 0
                    then {{ round_half_up(
                        'cast(totals.calls_held_window as decimal(18, 4))'
                        ~ ' / (totals.calls_held_window + totals.call_no_shows_window)', 4
                    ) }}
            end as decimal(5, 4)
        ) as call_show_rate_90d,
        totals.last_call_at,
        cast(
            {{ dbt.datediff('cast(totals.last_call_at as date)', as_of_date(), 'day') }} as integer
        ) as days_since_last_call,
        totals.next_call_at

    from totals
    inner join latest_bookings
        on
            totals.email_key = latest_bookings.email_key
            and latest_bookings.booking_rank = 1

)

select * from final
