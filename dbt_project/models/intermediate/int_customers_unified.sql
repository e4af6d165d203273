-- One row per customer (email_key): the union of every source's valid emails (Intercom contacts, live HubSpot
-- contacts, Calendly invitees, product users, Userflow users, Fathom's external invitees, Stripe customers), with match_confidence and source_count, and each domain's attributes joined
-- on email_key. Profile fields come from Intercom, else HubSpot, else the latest Calendly booking. A new
-- source adds one branch to customer_sources and its attributes below.

with

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}
    where is_primary_contact

),

revenue as (

    select * from {{ ref('int_revenue_aggregated') }}

),

stripe_revenue as (

    -- revenue of record when Stripe is connected (phase 4); Intercom's attributes otherwise
    select * from {{ ref('int_stripe_customer_revenue') }}

),

support as (

    select * from {{ ref('int_support_aggregated') }}

),

hubspot_contacts as (

    select * from {{ ref('int_hubspot_contacts_deduplicated') }}
    where is_primary_contact

),

deals as (

    select * from {{ ref('int_hubspot_deals_aggregated') }}

),

calls as (

    select * from {{ ref('int_calendly_calls_aggregated') }}

),

account_managers as (

    select * from {{ ref('int_account_managers_assigned') }}

),

product_users as (

    select * from {{ ref('int_product_users_matched') }}
    where is_primary_user

),

product_logins as (

    select * from {{ ref('int_product_logins_aggregated') }}

),

product_usage as (

    select * from {{ ref('int_product_usage_trended') }}

),

product_accounts as (

    select * from {{ ref('int_product_accounts_aggregated') }}

),

onboarding as (

    select * from {{ ref('int_userflow_onboarding_aggregated') }}

),

meetings as (

    select * from {{ ref('int_fathom_meetings_aggregated') }}

),

loads as (

    select * from {{ ref('stg_intercom__loads') }}

),

hubspot_loads as (

    select * from {{ ref('stg_hubspot__loads') }}

),

calendly_loads as (

    select * from {{ ref('stg_calendly__loads') }}

),

product_loads as (

    select
        'admin' as source_name,
        inserted_at

    from {{ ref('stg_admin__loads') }}
    where is_loaded

    union all

    select
        'userflow' as source_name,
        inserted_at

    from {{ ref('stg_userflow__loads') }}
    where is_loaded

    union all

    select
        'fathom' as source_name,
        inserted_at

    from {{ ref('stg_fathom__loads') }}
    where is_loaded

),

customer_sources as (

    select
        email_key,
        'intercom' as source_name

    from contacts

    union all

    select
        email_key,
        'hubspot' as source_name

    from hubspot_contacts

    union all

    select
        email_key,
        'calendly' as source_name

    from calls

    union all

    select
        email_key,
        'admin' as source_name

    from product_users

    union all

    select
        email_key,
        'userflow' as source_name

    from onboarding

    union all

    select
        email_key,
        'fathom' as source_name

    from meetings

    union all

    select
        email_key,
        'stripe' as source_name

    from stripe_revenue

),

customers as (

    select
        email_key,
        cast(count(distinct source_name) as integer) as source_count

    from customer_sources
    group by email_key

),

intercom_sync as (

    select max(inserted_at) as last_intercom_sync
    from loads
    where is_loaded

),

hubspot_sync as (

    select max(inserted_at) as last_hubspot_sync
    from hubspot_loads
    where is_loaded

),

calendly_sync as (

    select max(inserted_at) as last_calendly_sync
    from calendly_loads
    where is_loaded

),

product_sync as (

    select
        max(case when source_name = 'admin' then inserted_at end) as last_admin_sync,
        max(case when source_name = 'userflow' then inserted_at end) as last_userflow_sync,
        max(case when source_name = 'fathom' then inserted_at end) as last_fathom_sync

    from product_loads

),

final as (

    select
        customers.email_key,
        coalesce(contacts.email, hubspot_contacts.email, calls.email, product_users.email, customers.email_key)
            as email,
        coalesce(
            nullif(trim(contacts.contact_name), ''),
            hubspot_contacts.contact_name,
            nullif(trim(calls.invitee_name), ''),
            product_users.user_name,
            {{ dbt.split_part(
                'coalesce(contacts.email, hubspot_contacts.email, calls.email, product_users.email, customers.email_key)',
                "'@'", 1
            ) }}
        ) as name,
        contacts.contact_id as intercom_contact_id,
        hubspot_contacts.contact_id as hubspot_contact_id,
        hubspot_contacts.company_name,
        coalesce(stripe_revenue.stripe_customer_id, contacts.stripe_customer_id) as stripe_customer_id,
        contacts.location_country,
        contacts.location_city,
        cast(contacts.created_at as date) as signup_date,
        case when stripe_revenue.email_key is not null then true else revenue.has_stripe_data end
            as has_stripe_data,
        case
            when stripe_revenue.email_key is not null then 'stripe'
            when revenue.has_stripe_data then 'intercom_attributes'
        end as revenue_basis,
        case when stripe_revenue.email_key is not null then stripe_revenue.mrr_unrounded else revenue.mrr_unrounded end as mrr_unrounded,
        case when stripe_revenue.email_key is not null then stripe_revenue.mrr else revenue.mrr end as mrr,
        case when stripe_revenue.email_key is not null then stripe_revenue.arr else revenue.arr end as arr,
        case when stripe_revenue.email_key is not null then stripe_revenue.mrr_native else revenue.mrr_native end as mrr_native,
        case when stripe_revenue.email_key is not null then stripe_revenue.currency else revenue.currency end as currency,
        case when stripe_revenue.email_key is not null then stripe_revenue.is_fx_missing else revenue.is_fx_missing end as is_fx_missing,
        case when stripe_revenue.email_key is not null then stripe_revenue.ltv else revenue.ltv end as ltv,
        case when stripe_revenue.email_key is not null then stripe_revenue.ltv_native else revenue.ltv_native end as ltv_native,
        case when stripe_revenue.email_key is not null then stripe_revenue.ltv_currency else revenue.ltv_currency end as ltv_currency,
        case when stripe_revenue.email_key is not null then stripe_revenue.is_ltv_fx_missing else revenue.is_ltv_fx_missing end as is_ltv_fx_missing,
        case when stripe_revenue.email_key is not null then stripe_revenue.has_trialing_subscription else revenue.has_trialing_subscription end as has_trialing_subscription,
        case when stripe_revenue.email_key is not null then stripe_revenue.has_mrr else revenue.has_mrr end as has_mrr,
        case when stripe_revenue.email_key is not null then stripe_revenue.has_paid else revenue.has_paid end as has_paid,
        case when stripe_revenue.email_key is not null then stripe_revenue.payment_failed_at else revenue.payment_failed_at end as payment_failed_at,
        case when stripe_revenue.email_key is not null then stripe_revenue.plan_name else revenue.plan_name end
            as plan_name,
        case when stripe_revenue.email_key is not null then stripe_revenue.plan_price else revenue.plan_price end
            as plan_price,
        case
            when stripe_revenue.email_key is not null then stripe_revenue.subscription_status
            else revenue.subscription_status
        end as subscription_status,
        case
            when stripe_revenue.email_key is not null then stripe_revenue.subscription_count
            else revenue.subscription_count
        end as subscription_count,
        case when stripe_revenue.email_key is not null then stripe_revenue.is_delinquent else revenue.is_delinquent end
            as is_delinquent,
        revenue.last_payment_amount,
        revenue.last_payment_date,
        revenue.next_renewal_date,
        greatest(contacts.last_seen_at, product_logins.last_login_at, onboarding.userflow_last_seen_at)
            as last_seen_at,
        {{ dbt.datediff(
            'cast(greatest(contacts.last_seen_at, product_logins.last_login_at, onboarding.userflow_last_seen_at)'
            ~ ' as date)', as_of_date(), 'day'
        ) }} as days_since_seen,
        product_logins.logins_7d,
        product_logins.logins_30d,
        product_logins.active_days_30d,
        product_logins.last_login_at,
        product_users.user_id as product_user_id,
        product_users.account_id as product_account_id,
        product_accounts.account_name as product_account_name,
        product_usage.usage_30d,
        product_usage.usage_prev_30d,
        product_usage.usage_trend,
        product_accounts.credits_balance,
        product_accounts.credits_used_30d,
        product_accounts.credits_days_left,
        product_accounts.exports_30d,
        product_accounts.seats_purchased,
        product_accounts.seats_used,
        product_accounts.seat_utilization,
        onboarding.userflow_signed_up_at,
        onboarding.onboarding_progress,
        onboarding.onboarding_completed_at,
        coalesce(onboarding.is_onboarding_stalled, false) as is_onboarding_stalled,
        meetings.meetings_90d,
        meetings.last_meeting_at,
        meetings.open_action_items,
        coalesce(support.intercom_convos_total, 0) as intercom_convos_total,
        coalesce(support.intercom_convos_30d, 0) as intercom_convos_30d,
        coalesce(support.open_tickets, 0) as open_tickets,
        coalesce(support.has_open_priority_ticket, false) as has_open_priority_ticket,
        coalesce(support.mentioned_cancel, false) or coalesce(meetings.mentioned_cancel_in_meeting, false)
            as mentioned_cancel,
        case
            when support.mentioned_cancel and meetings.mentioned_cancel_in_meeting then 'both'
            when support.mentioned_cancel then 'support'
            when meetings.mentioned_cancel_in_meeting then 'meeting'
        end as mentioned_cancel_source,
        support.csat_score,
        intercom_sync.last_intercom_sync,
        hubspot_contacts.created_at as hubspot_created_at,
        hubspot_contacts.lifecycle_stage,
        account_managers.am_owner_id as assigned_am_owner_id,
        account_managers.am_name as assigned_am,
        account_managers.am_email as assigned_am_email,
        account_managers.am_has_left,
        account_managers.am_assignment_source,
        deals.deal_stage,
        case when hubspot_contacts.contact_id is not null then coalesce(deals.open_deal_count, 0) end
            as open_deal_count,
        cast(
            case when hubspot_contacts.contact_id is not null then coalesce(deals.open_deal_value, 0) end
            as decimal(18, 2)
        ) as open_deal_value,
        coalesce(deals.has_recent_lost_deal, false) as has_recent_lost_deal,
        cast(deals.last_deal_lost_at as date) as last_deal_lost_date,
        case when calendly_sync.last_calendly_sync is not null then coalesce(calls.calls_booked_90d, 0) end
            as calls_booked_90d,
        case when calendly_sync.last_calendly_sync is not null then coalesce(calls.calls_held_90d, 0) end
            as calls_held_90d,
        case when calendly_sync.last_calendly_sync is not null then coalesce(calls.call_no_shows_90d, 0) end
            as call_no_shows_90d,
        calls.call_show_rate,
        calls.call_show_rate_90d,
        calls.last_call_at,
        calls.days_since_last_call,
        calls.next_call_at,
        hubspot_sync.last_hubspot_sync,
        calendly_sync.last_calendly_sync,
        product_sync.last_admin_sync,
        product_sync.last_userflow_sync,
        product_sync.last_fathom_sync,
        case
            when customers.source_count >= 2 then 'high'
            else 'medium'
        end as match_confidence,
        customers.source_count,
        {{ as_of_date() }} as as_of_date

    from customers
    left join contacts
        on customers.email_key = contacts.email_key
    left join revenue
        on customers.email_key = revenue.email_key
    left join stripe_revenue
        on customers.email_key = stripe_revenue.email_key
    left join support
        on customers.email_key = support.email_key
    left join hubspot_contacts
        on customers.email_key = hubspot_contacts.email_key
    left join deals
        on customers.email_key = deals.email_key
    left join calls
        on customers.email_key = calls.email_key
    left join account_managers
        on customers.email_key = account_managers.email_key
    left join product_users
        on customers.email_key = product_users.email_key
    left join product_logins
        on customers.email_key = product_logins.email_key
    left join product_usage
        on customers.email_key = product_usage.email_key
    left join product_accounts
        on product_users.account_id = product_accounts.account_id
    left join onboarding
        on customers.email_key = onboarding.email_key
    left join meetings
        on customers.email_key = meetings.email_key
    cross join intercom_sync
    cross join hubspot_sync
    cross join calendly_sync
    cross join product_sync

)

select * from final
