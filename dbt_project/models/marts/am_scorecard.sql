-- The account-manager scorecard for T (the original product specification, "AM performance scorecard"): one row per HubSpot owner who
-- is active or still owns customers. Book of business from unified_customers (customers whose assigned AM
-- is this owner, within the health scope (var `health_scope_stages`): MRR, average health, at-risk count (not
-- healthy, as in at_risk_customers) and MRR, open pipeline, customers without a held call
-- in var `am_no_call_days` days) and call discipline from the calls the AM hosted in the var
-- `call_window_days` days before T (held, no-shows, show rate). Doc block `am_scorecard`.

{%- set statuses = ['healthy', 'at_risk', 'high_risk', 'critical'] %}

with

owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

customers as (

    select * from {{ ref('unified_customers') }}
    where assigned_am_owner_id is not null and is_in_health_scope

),

calls as (

    select * from {{ ref('int_calendly_calls_classified') }}
    where host_owner_id is not null and is_in_call_window

),

book as (

    select
        assigned_am_owner_id as owner_id,
        count(*) as customers,
        sum(case when mrr > 0 then 1 else 0 end) as paying_customers,
        sum(mrr) as mrr,
        sum(arr) as arr,
        avg(health_score) as avg_health_score,
        sum(case when health_status != 'healthy' then 1 else 0 end) as at_risk_customers,
        sum(case when health_status != 'healthy' then mrr end) as at_risk_mrr,
        {%- for status in statuses %}
        sum(case when health_status = '{{ status }}' then 1 else 0 end) as customers_{{ status }},
        sum(case when health_status = '{{ status }}' then mrr end) as mrr_{{ status }},
        {%- endfor %}
        sum(case when risk_signals != '' then 1 else 0 end) as customers_with_risk_signals,
        sum(open_deal_value) as open_deal_value,
        sum(
            case
                when days_since_last_call is null or days_since_last_call > {{ var('am_no_call_days') }}
                    then 1
                else 0
            end
        ) as customers_without_recent_call

    from customers
    group by assigned_am_owner_id

),

hosted as (

    select
        host_owner_id as owner_id,
        sum(case when call_outcome = 'held' then 1 else 0 end) as calls_held,
        sum(case when call_outcome = 'no_show' then 1 else 0 end) as call_no_shows

    from calls
    group by host_owner_id

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(owners.owner_id as varchar) as am_owner_id,
        cast(owners.owner_name as varchar) as am_name,
        cast(owners.email as varchar) as am_email,
        cast(owners.is_archived as boolean) as am_has_left,
        cast(coalesce(book.customers, 0) as integer) as customers,
        cast(coalesce(book.paying_customers, 0) as integer) as paying_customers,
        cast(coalesce(book.mrr, 0) as decimal(18, 2)) as mrr,
        cast(coalesce(book.arr, 0) as decimal(18, 2)) as arr,
        cast({{ round_half_up('book.avg_health_score', 2) }} as decimal(5, 2)) as avg_health_score,
        cast(coalesce(book.at_risk_customers, 0) as integer) as at_risk_customers,
        cast(coalesce(book.at_risk_mrr, 0) as decimal(18, 2)) as at_risk_mrr,
        {%- for status in statuses %}
        cast(coalesce(book.customers_{{ status }}, 0) as integer) as customers_{{ status }},
        cast(coalesce(book.mrr_{{ status }}, 0) as decimal(18, 2)) as mrr_{{ status }},
        {%- endfor %}
        cast(coalesce(book.customers_at_risk, 0) + coalesce(book.customers_high_risk, 0) as integer)
            as at_risk_count,
        cast(coalesce(book.customers_critical, 0) as integer) as critical_count,
        cast(coalesce(book.customers_with_risk_signals, 0) as integer) as customers_with_risk_signals,
        cast(coalesce(book.open_deal_value, 0) as decimal(18, 2)) as open_deal_value,
        cast(coalesce(book.customers_without_recent_call, 0) as integer) as customers_without_call_60d,
        cast(coalesce(hosted.calls_held, 0) as integer) as calls_held_90d,
        cast(coalesce(hosted.call_no_shows, 0) as integer) as call_no_shows_90d,
        cast(
            case
                when hosted.calls_held + hosted.call_no_shows > 0
                    then {{ round_half_up(
                        'cast(hosted.calls_held as decimal(18, 4)) / (hosted.calls_held + hosted.call_no_shows)', 4
                    ) }}
            end as decimal(5, 4)
        ) as call_show_rate

    from owners
    left join book
        on owners.owner_id = book.owner_id
    left join hosted
        on owners.owner_id = hosted.owner_id
    where not owners.is_archived or coalesce(book.customers, 0) > 0

)

select * from final
