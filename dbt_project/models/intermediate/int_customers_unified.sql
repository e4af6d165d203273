-- One row per customer (email_key): the union of every source's valid emails, with match_confidence and
-- source_count, and each domain's attributes joined on email_key. Phase 1 has one source (Intercom); a new
-- source adds one branch to customer_sources and its attributes below.

with

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}
    where is_primary_contact

),

revenue as (

    select * from {{ ref('int_revenue_aggregated') }}

),

support as (

    select * from {{ ref('int_support_aggregated') }}

),

loads as (

    select * from {{ ref('stg_intercom__loads') }}

),

customer_sources as (

    select
        email_key,
        'intercom' as source_name,
        false as needed_extra_normalisation

    from contacts

),

customers as (

    select
        email_key,
        cast(count(distinct source_name) as integer) as source_count,
        max(case when needed_extra_normalisation then 1 else 0 end) = 1 as needed_extra_normalisation

    from customer_sources
    group by email_key

),

intercom_sync as (

    select max(inserted_at) as last_intercom_sync
    from loads
    where is_loaded

),

final as (

    select
        customers.email_key,
        contacts.email,
        coalesce(
            nullif(trim(contacts.contact_name), ''),
            {{ dbt.split_part('contacts.email', "'@'", 1) }}
        ) as name,
        contacts.contact_id as intercom_contact_id,
        contacts.stripe_customer_id,
        contacts.location_country,
        contacts.location_city,
        cast(contacts.created_at as date) as signup_date,
        revenue.has_stripe_data,
        revenue.mrr_unrounded,
        revenue.mrr,
        revenue.arr,
        revenue.ltv,
        revenue.plan_name,
        revenue.plan_price,
        revenue.subscription_status,
        revenue.subscription_count,
        revenue.is_delinquent,
        coalesce(revenue.has_foreign_currency, false) as has_foreign_currency,
        revenue.last_payment_amount,
        revenue.last_payment_date,
        contacts.last_seen_at,
        {{ dbt.datediff('cast(contacts.last_seen_at as date)', as_of_date(), 'day') }} as days_since_seen,
        cast(null as integer) as logins_7d,
        cast(null as integer) as logins_30d,
        coalesce(support.intercom_convos_total, 0) as intercom_convos_total,
        coalesce(support.intercom_convos_30d, 0) as intercom_convos_30d,
        coalesce(support.open_tickets, 0) as open_tickets,
        coalesce(support.has_open_priority_ticket, false) as has_open_priority_ticket,
        coalesce(support.mentioned_cancel, false) as mentioned_cancel,
        support.csat_score,
        intercom_sync.last_intercom_sync,
        case
            when customers.needed_extra_normalisation then 'low'
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
    left join support
        on customers.email_key = support.email_key
    cross join intercom_sync

)

select * from final
