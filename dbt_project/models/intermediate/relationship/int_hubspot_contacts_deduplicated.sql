-- Every live HubSpot contact with a valid email created by the end of T's day (createdate; a contact without
-- one counts as known), mapped to its email_key. Contacts HubSpot merged into
-- another (their id is in a survivor's hs_merged_object_ids) are dropped: the survivor stands for them.
-- Several live contacts with one email_key: the most recently modified is the primary contact, whose owner,
-- lifecycle stage and company the customer gets; the others stay here so their deals still count.

with

contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}
    where is_valid_email and not is_archived and {{ known_by_end_of_as_of('created_at') }}

),

contact_merges as (

    select * from {{ ref('stg_hubspot__contact_merges') }}

),

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

live_contacts as (

    select contacts.*

    from contacts
    left join contact_merges
        on contacts.contact_id = contact_merges.merged_contact_id
    where contact_merges.merged_contact_id is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by email_key
            order by updated_at desc nulls last, created_at desc nulls last, contact_id desc
        ) as recency_rank,
        count(*) over (partition by email_key) as contacts_with_email_key

    from live_contacts

),

final as (

    select
        ranked.contact_id,
        ranked.email_key,
        trim(ranked.email) as email,
        nullif(
            trim({{ dbt.concat(["coalesce(ranked.first_name, '')", "' '", "coalesce(ranked.last_name, '')"]) }}),
            ''
        ) as contact_name,
        ranked.lifecycle_stage,
        ranked.owner_id,
        ranked.company_id,
        coalesce(companies.company_name, ranked.company_name) as company_name,
        ranked.created_at,
        ranked.updated_at,
        ranked.loaded_at,
        ranked.recency_rank = 1 as is_primary_contact,
        ranked.contacts_with_email_key

    from ranked
    left join companies
        on ranked.company_id = companies.company_id

)

select * from final
