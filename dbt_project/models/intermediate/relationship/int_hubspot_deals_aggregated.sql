-- Pipeline per customer (email_key) from the HubSpot deals associated with any of the customer's live
-- contacts (a merged-away contact's associations count for its survivor), each deal once per customer.
-- Open deal: not closed per hs_is_closed and not in a stage of var `closed_deal_stages`. open_deal_value:
-- sum of the open deals' amounts (deals without an amount add nothing). deal_stage: the stage of the newest
-- open deal, else of the most recently closed one. has_recent_lost_deal: a deal closed lost within var
-- `deal_lost_days` days before T. Point in time: a deal created after the end of T's day does not exist yet,
-- and last_deal_lost_at is the latest loss up to then (stages and amounts are HubSpot's current values).

{%- set closed_stages = "('" ~ var('closed_deal_stages') | join("', '") ~ "')" %}

with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived and {{ known_by_end_of_as_of('created_at') }}

),

deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

contact_merges as (

    select * from {{ ref('stg_hubspot__contact_merges') }}

),

contacts as (

    select * from {{ ref('int_hubspot_contacts_deduplicated') }}

),

customer_deals as (

    select distinct
        contacts.email_key,
        deal_contacts.deal_id

    from deal_contacts
    left join contact_merges
        on deal_contacts.contact_id = contact_merges.merged_contact_id
    inner join contacts
        on coalesce(contact_merges.survivor_contact_id, deal_contacts.contact_id) = contacts.contact_id

),

classified as (

    select
        customer_deals.email_key,
        deals.deal_id,
        deals.deal_stage,
        deals.amount,
        deals.created_at,
        deals.closed_at,
        not deals.is_closed and not coalesce(deals.deal_stage in {{ closed_stages }}, false) as is_open,
        deals.deal_stage = 'closedlost' as is_lost

    from customer_deals
    inner join deals
        on customer_deals.deal_id = deals.deal_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by email_key
            order by
                case when is_open then 0 else 1 end,
                case when is_open then created_at end desc nulls last,
                closed_at desc nulls last,
                deal_id desc
        ) as stage_rank

    from classified

),

final as (

    select
        email_key,
        cast(count(*) as integer) as deal_count,
        cast(sum(case when is_open then 1 else 0 end) as integer) as open_deal_count,
        cast(coalesce(sum(case when is_open then amount end), 0) as decimal(18, 2)) as open_deal_value,
        max(case when stage_rank = 1 then deal_stage end) as deal_stage,
        max(case when is_lost and {{ before_end_of_as_of('closed_at') }} then closed_at end)
            as last_deal_lost_at,
        coalesce(
            max(
                case
                    when
                        is_lost
                        and closed_at >= {{ dbt.dateadd('day', -1 * var('deal_lost_days'), as_of_timestamp()) }}
                        and closed_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }}
                        then 1
                    else 0
                end
            ) = 1,
            false
        ) as has_recent_lost_deal

    from ranked
    group by email_key

)

select * from final
