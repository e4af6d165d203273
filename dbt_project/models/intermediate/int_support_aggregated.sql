-- Support metrics per customer (email_key), over the conversations whose contacts include any of the
-- customer's valid contacts (superseded duplicates included), each conversation counted once per customer.
-- Conversations created after the as-of day are left out, so a past as-of build (backfill) sees that day.

with

conversations as (

    select * from {{ ref('int_conversations_cancel_flagged') }}

),

conversation_contacts as (

    select * from {{ ref('stg_intercom__conversation_contacts') }}

),

contacts as (

    select * from {{ ref('int_contacts_deduplicated') }}

),

customer_conversations as (

    select distinct
        contacts.email_key,
        conversation_contacts.conversation_id

    from conversation_contacts
    inner join contacts
        on conversation_contacts.contact_id = contacts.contact_id

),

joined as (

    select
        customer_conversations.email_key,
        conversations.*,
        conversations.conversation_state in ('open', 'snoozed') as is_open_ticket

    from customer_conversations
    inner join conversations
        on customer_conversations.conversation_id = conversations.conversation_id
    -- point in time: a build for a past T (backfill) does not count conversations created after T's day
    where
        conversations.created_at is null
        or conversations.created_at < {{ dbt.dateadd('day', 1, as_of_timestamp()) }}

),

final as (

    select
        email_key,
        cast(count(*) as integer) as intercom_convos_total,
        cast(
            sum(
                case
                    when created_at >= {{ dbt.dateadd('day', -1 * var('recent_conversation_days'), as_of_timestamp()) }}
                        then 1
                    else 0
                end
            ) as integer
        ) as intercom_convos_30d,
        cast(sum(case when is_open_ticket then 1 else 0 end) as integer) as open_tickets,
        max(case when is_open_ticket and conversation_priority = 'priority' then 1 else 0 end) = 1
            as has_open_priority_ticket,
        max(case when mentioned_cancel then 1 else 0 end) = 1 as mentioned_cancel,
        cast(
            {{ round_half_up('avg(case when rating between 1 and 5 then rating end)', 2) }} as decimal(5, 2)
        ) as csat_score,
        cast(sum(case when rating between 1 and 5 then 1 else 0 end) as integer) as rated_conversations,
        max(created_at) as last_conversation_at

    from joined
    group by email_key

)

select * from final
