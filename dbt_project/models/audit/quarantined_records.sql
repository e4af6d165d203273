-- Every record the platform could not use, with the reason and the raw values that failed: the loaders'
-- quarantine (malformed records, every source) plus what the models cannot match or use (missing / invalid
-- email in Intercom, HubSpot, Calendly or the product database, conversations matching no customer, invalid
-- subscriptions and payments).

with

loader_quarantine as (

    select * from {{ ref('stg_intercom__quarantine') }}
    union all
    select * from {{ ref('stg_hubspot__quarantine') }}
    union all
    select * from {{ ref('stg_calendly__quarantine') }}
    union all
    select * from {{ ref('stg_userflow__quarantine') }}
    union all
    select * from {{ ref('stg_fathom__quarantine') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

hubspot_merges as (

    select * from {{ ref('stg_hubspot__contact_merges') }}

),

calendly_invitees as (

    select * from {{ ref('stg_calendly__invitees') }}

),

product_users as (

    select * from {{ ref('stg_admin__users') }}

),

contacts as (

    select * from {{ ref('stg_intercom__contacts') }}

),

conversations as (

    select * from {{ ref('stg_intercom__conversations') }}

),

conversation_contacts as (

    select * from {{ ref('stg_intercom__conversation_contacts') }}

),

valid_contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}

),

subscriptions as (

    select * from {{ ref('int_subscriptions_normalized') }}

),

payments as (

    select * from {{ ref('int_payments_normalized') }}

),

from_loader as (

    select
        coalesce(quarantine_id, {{ dbt.concat(["'loader:'", "coalesce(entity, '')", "':'", "coalesce(record_id, '')"]) }})
            as quarantine_id,
        coalesce(source_name, 'intercom') as source_name,
        entity,
        record_id,
        coalesce(reason, 'loader_rejected') as reason,
        raw_record as raw_values,
        quarantined_at as detected_at

    from loader_quarantine

),

from_contacts as (

    select
        {{ dbt.concat(["'intercom:contacts:'", "coalesce(contact_id, dlt_id)"]) }} as quarantine_id,
        'intercom' as source_name,
        'contacts' as entity,
        contact_id as record_id,
        case
            when email is null or trim(email) = '' then 'missing_email'
            else 'invalid_email'
        end as reason,
        {{ dbt.concat([
            "'email='", "coalesce(email, '<null>')",
            "'; name='", "coalesce(contact_name, '<null>')",
        ]) }} as raw_values,
        loaded_at as detected_at

    from contacts
    where not is_valid_email

),

from_hubspot_contacts as (

    select
        {{ dbt.concat(["'hubspot:contacts:'", "coalesce(hubspot_contacts.contact_id, hubspot_contacts.dlt_id)"]) }}
            as quarantine_id,
        'hubspot' as source_name,
        'contacts' as entity,
        hubspot_contacts.contact_id as record_id,
        case
            when hubspot_contacts.email is null or trim(hubspot_contacts.email) = '' then 'missing_email'
            else 'invalid_email'
        end as reason,
        {{ dbt.concat([
            "'email='", "coalesce(hubspot_contacts.email, '<null>')",
            "'; firstname='", "coalesce(hubspot_contacts.first_name, '<null>')",
            "'; lastname='", "coalesce(hubspot_contacts.last_name, '<null>')",
        ]) }} as raw_values,
        hubspot_contacts.loaded_at as detected_at

    from hubspot_contacts
    left join hubspot_merges
        on hubspot_contacts.contact_id = hubspot_merges.merged_contact_id
    where not hubspot_contacts.is_valid_email and hubspot_merges.merged_contact_id is null

),

from_calendly_invitees as (

    select
        {{ dbt.concat(["'calendly:invitees:'", "coalesce(invitee_uri, dlt_id)"]) }} as quarantine_id,
        'calendly' as source_name,
        'invitees' as entity,
        invitee_uri as record_id,
        case
            when email is null or trim(email) = '' then 'missing_email'
            else 'invalid_email'
        end as reason,
        {{ dbt.concat([
            "'email='", "coalesce(email, '<null>')",
            "'; name='", "coalesce(invitee_name, '<null>')",
        ]) }} as raw_values,
        loaded_at as detected_at

    from calendly_invitees
    where not is_valid_email

),

from_product_users as (

    select
        {{ dbt.concat(["'admin:users:'", "cast(user_id as varchar)"]) }} as quarantine_id,
        'admin' as source_name,
        'users' as entity,
        cast(user_id as varchar) as record_id,
        case
            when email is null or trim(email) = '' then 'missing_email'
            else 'invalid_email'
        end as reason,
        {{ dbt.concat([
            "'email='", "coalesce(email, '<null>')",
            "'; name='", "coalesce(user_name, '<null>')",
        ]) }} as raw_values,
        updated_at as detected_at

    from product_users
    where not is_valid_email

),

matched_conversations as (

    select distinct conversation_contacts.conversation_id

    from conversation_contacts
    inner join valid_contacts
        on conversation_contacts.contact_id = valid_contacts.contact_id

),

conversation_contact_lists as (

    select
        conversation_id,
        {{ dbt.listagg("coalesce(contact_id, '<null>')", "','", 'order by contact_id') }} as contact_ids

    from conversation_contacts
    group by conversation_id

),

from_conversations as (

    select
        {{ dbt.concat(["'intercom:conversations:'", "conversations.conversation_id"]) }} as quarantine_id,
        'intercom' as source_name,
        'conversations' as entity,
        conversations.conversation_id as record_id,
        'unmatched_conversation' as reason,
        {{ dbt.concat([
            "'contact_ids='", "coalesce(conversation_contact_lists.contact_ids, '<none>')",
            "'; author_type='", "coalesce(conversations.source_author_type, '<null>')",
        ]) }} as raw_values,
        conversations.loaded_at as detected_at

    from conversations
    left join matched_conversations
        on conversations.conversation_id = matched_conversations.conversation_id
    left join conversation_contact_lists
        on conversations.conversation_id = conversation_contact_lists.conversation_id
    where matched_conversations.conversation_id is null

),

from_subscriptions as (

    select
        {{ dbt.concat(["'intercom:subscriptions:'", "coalesce(subscription_id, '')", "':'", "dlt_id"]) }}
            as quarantine_id,
        'intercom' as source_name,
        'subscriptions' as entity,
        subscription_id as record_id,
        'invalid_subscription' as reason,
        {{ dbt.concat([
            "invalid_reason",
            "'; contact_id='", "coalesce(contact_id, '<null>')",
            "'; interval='", "coalesce(plan_interval, '<null>')",
            "'; interval_count='", "coalesce(cast(plan_interval_count as varchar), '<null>')",
            "'; amount_cents='", "coalesce(cast(plan_amount_cents as varchar), '<null>')",
            "'; quantity='", "coalesce(cast(quantity as varchar), '<null>')",
        ]) }} as raw_values,
        loaded_at as detected_at

    from subscriptions
    where not is_valid

),

from_payments as (

    select
        {{ dbt.concat(["'intercom:payments:'", "coalesce(payment_id, '')", "':'", "dlt_id"]) }} as quarantine_id,
        'intercom' as source_name,
        'payments' as entity,
        payment_id as record_id,
        'invalid_payment' as reason,
        {{ dbt.concat([
            "invalid_reason",
            "'; contact_id='", "coalesce(contact_id, '<null>')",
            "'; amount_cents='", "coalesce(cast(amount_cents as varchar), '<null>')",
            "'; amount_refunded_cents='", "coalesce(cast(amount_refunded_cents as varchar), '<null>')",
        ]) }} as raw_values,
        loaded_at as detected_at

    from payments
    where not is_valid

),

unioned as (

    select * from from_loader
    union all
    select * from from_contacts
    union all
    select * from from_conversations
    union all
    select * from from_subscriptions
    union all
    select * from from_payments
    union all
    select * from from_hubspot_contacts
    union all
    select * from from_calendly_invitees
    union all
    select * from from_product_users

),

final as (

    select
        cast(quarantine_id as varchar) as quarantine_id,
        cast(source_name as varchar) as source,
        cast(entity as varchar) as entity,
        cast(record_id as varchar) as record_id,
        cast(reason as varchar) as reason,
        cast(raw_values as varchar) as raw_values,
        cast(detected_at as {{ dbt.type_timestamp() }}) as detected_at

    from unioned

)

select * from final
