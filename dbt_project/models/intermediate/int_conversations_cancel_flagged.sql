-- One row per conversation with its customer-written text (the source body when a user or lead wrote it,
-- the title, and customer-authored parts when parts are loaded), HTML stripped, and whether it mentions
-- cancelling: a keyword of var `cancel_keywords` as a whole word, case-insensitive, in a conversation created
-- in the var `cancel_window_days` days before T (created_at >= T - window).

with

conversations as (

    select * from {{ ref('stg_intercom__conversations') }}

),

parts as (

    select * from {{ ref('stg_intercom__conversation_parts') }}

),

customer_parts as (

    select
        conversation_id,
        {{ dbt.listagg('coalesce(body_html, \'\')', "' '", 'order by created_at, conversation_part_id') }}
            as parts_html

    from parts
    where author_type in ('user', 'lead')
    group by conversation_id

),

customer_text as (

    select
        conversations.*,
        {{ html_to_text(
            dbt.concat([
                "coalesce(case when conversations.source_author_type in ('user', 'lead') then conversations.source_body_html end, '')",
                "' '",
                "coalesce(conversations.title, '')",
                "' '",
                "coalesce(customer_parts.parts_html, '')",
            ])
        ) }} as customer_text

    from conversations
    left join customer_parts
        on conversations.conversation_id = customer_parts.conversation_id

),

final as (

    select
        conversation_id,
        created_at,
        updated_at,
        conversation_state,
        conversation_priority,
        rating,
        source_author_type,
        customer_text,
        coalesce({{ matches_any_word('customer_text', var('cancel_keywords')) }}, false) as has_cancel_keyword,
        created_at >= {{ dbt.dateadd('day', -1 * var('cancel_window_days'), as_of_timestamp()) }}
            as is_in_cancel_window,
        coalesce({{ matches_any_word('customer_text', var('cancel_keywords')) }}, false)
        and coalesce(
            created_at >= {{ dbt.dateadd('day', -1 * var('cancel_window_days'), as_of_timestamp()) }}, false
        ) as mentioned_cancel,
        loaded_at

    from customer_text

)

select * from final
