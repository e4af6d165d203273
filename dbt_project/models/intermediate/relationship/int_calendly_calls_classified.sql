-- One row per Calendly booking (invitee of a loaded event) with its outcome as of T and its host:
--   canceled  the event or the invitee is canceled (the original of a rescheduled call included)
--   no_show   the host marked the invitee a no-show, and the call ended before T
--   held      active, not a no-show, ended before T
--   upcoming  active and not over by T
-- The host is the event's organizer (first membership), matched to a HubSpot owner on lower(trim(email));
-- host_owner_id is null for hosts who are no owner (they never become anyone's AM).

with

invitees as (

    select * from {{ ref('stg_calendly__invitees') }}

),

events as (

    select * from {{ ref('stg_calendly__scheduled_events') }}

),

memberships as (

    select * from {{ ref('stg_calendly__event_memberships') }}
    where is_organizer

),

owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

joined as (

    select
        invitees.invitee_uri,
        invitees.event_uri,
        invitees.email_key,
        trim(invitees.email) as email,
        invitees.is_valid_email,
        invitees.invitee_name,
        invitees.created_at as booked_at,
        invitees.old_invitee_uri,
        events.start_at,
        events.end_at,
        events.event_status,
        invitees.invitee_status,
        invitees.is_no_show,
        memberships.host_email,
        memberships.host_name,
        owners.owner_id as host_owner_id

    from invitees
    inner join events
        on invitees.event_uri = events.event_uri
    left join memberships
        on invitees.event_uri = memberships.event_uri
    left join owners
        on memberships.host_email_key = owners.email_key

),

final as (

    select
        *,
        case
            when event_status = 'canceled' or invitee_status = 'canceled' then 'canceled'
            when end_at < {{ as_of_timestamp() }} and is_no_show then 'no_show'
            when end_at < {{ as_of_timestamp() }} then 'held'
            else 'upcoming'
        end as call_outcome,
        start_at >= {{ dbt.dateadd('day', -1 * var('call_window_days'), as_of_timestamp()) }}
        and start_at < {{ as_of_timestamp() }} as is_in_call_window,
        booked_at >= {{ dbt.dateadd('day', -1 * var('call_window_days'), as_of_timestamp()) }}
        and booked_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }} as is_booked_in_call_window

    from joined

)

select * from final
