-- The account manager of each customer (email_key) who has one (metrics.md, Calls, pipeline and account
-- managers): the HubSpot owner of the customer's primary HubSpot contact (an archived owner still names the
-- AM, with am_has_left); when there is none, the host of the customer's latest call that is not canceled
-- (held, no-show or upcoming, booked by T), provided the host is a HubSpot owner. Hosts who are no owner
-- (a solutions engineer) are skipped: the latest call with an owner as host decides.

with

contacts as (

    select * from {{ ref('int_hubspot_contacts_deduplicated') }}
    where is_primary_contact

),

owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

calls as (

    select * from {{ ref('int_calendly_calls_classified') }}
    where
        is_valid_email
        and call_outcome != 'canceled'
        and host_owner_id is not null
        and booked_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }}

),

from_hubspot as (

    select
        contacts.email_key,
        contacts.owner_id,
        'hubspot_owner' as assignment_source

    from contacts
    inner join owners
        on contacts.owner_id = owners.owner_id

),

latest_hosts as (

    select
        email_key,
        host_owner_id,
        row_number() over (
            partition by email_key order by start_at desc, event_uri desc
        ) as call_rank

    from calls

),

from_calendly as (

    select
        latest_hosts.email_key,
        latest_hosts.host_owner_id as owner_id,
        'calendly_host' as assignment_source

    from latest_hosts
    left join from_hubspot
        on latest_hosts.email_key = from_hubspot.email_key
    where latest_hosts.call_rank = 1 and from_hubspot.email_key is null

),

assigned as (

    select * from from_hubspot
    union all
    select * from from_calendly

),

final as (

    select
        assigned.email_key,
        assigned.owner_id as am_owner_id,
        owners.owner_name as am_name,
        owners.email as am_email,
        owners.is_archived as am_has_left,
        assigned.assignment_source as am_assignment_source

    from assigned
    inner join owners
        on assigned.owner_id = owners.owner_id

)

select * from final
