-- Credits, exports and seats per product account, point in time (doc block `product_usage`):
-- credits_balance = every credit movement up to the end of T's day; credits_used_30d and exports_30d in the
-- 30 days before T; seats_used = the account's users that existed and were not deactivated at the end of
-- T's day; seats_purchased is today's value (the product keeps no history of it); seat_utilization =
-- seats_used / seats_purchased; credits_days_left = the balance at the 30-day rate.

{%- set window = var('usage_window_days') %}

with

accounts as (

    select * from {{ ref('stg_admin__accounts') }}

),

users as (

    select * from {{ ref('stg_admin__users') }}
    where {{ before_end_of_as_of('created_at') }}

),

credits as (

    select * from {{ ref('stg_admin__credit_transactions') }}
    where {{ before_end_of_as_of('occurred_at') }}

),

exports as (

    select * from {{ ref('stg_admin__exports') }}
    where {{ in_days_before_as_of('exported_at', window) }}

),

seats as (

    select * from {{ ref('stg_admin__seats') }}

),

credit_totals as (

    select
        account_id,
        sum(credits) as credits_balance,
        sum(case when {{ in_days_before_as_of('occurred_at', window) }} then credits_used else 0 end)
            as credits_used_30d

    from credits
    group by account_id

),

export_totals as (

    select
        account_id,
        count(*) as exports_30d

    from exports
    group by account_id

),

seat_use as (

    select
        account_id,
        sum(
            case when deactivated_at is null or not {{ before_end_of_as_of('deactivated_at') }} then 1 else 0 end
        ) as seats_used

    from users
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.plan_name as product_plan,
        cast(credit_totals.credits_balance as bigint) as credits_balance,
        cast(coalesce(credit_totals.credits_used_30d, 0) as bigint) as credits_used_30d,
        cast(coalesce(export_totals.exports_30d, 0) as integer) as exports_30d,
        cast(seats.seats_purchased as integer) as seats_purchased,
        cast(coalesce(seat_use.seats_used, 0) as integer) as seats_used,
        cast(
            case
                when seats.seats_purchased > 0
                    then {{ round_half_up(
                        'cast(coalesce(seat_use.seats_used, 0) as decimal(18, 6)) / seats.seats_purchased', 4
                    ) }}
            end as decimal(9, 4)
        ) as seat_utilization,
        cast(
            case
                when credit_totals.credits_used_30d > 0
                    then {{ round_half_up(
                        'cast(greatest(credit_totals.credits_balance, 0) as decimal(18, 6)) * ' ~ window
                        ~ ' / credit_totals.credits_used_30d', 1
                    ) }}
            end as decimal(12, 1)
        ) as credits_days_left

    from accounts
    left join credit_totals
        on accounts.account_id = credit_totals.account_id
    left join export_totals
        on accounts.account_id = export_totals.account_id
    left join seats
        on accounts.account_id = seats.account_id
    left join seat_use
        on accounts.account_id = seat_use.account_id
    where {{ before_end_of_as_of('accounts.created_at') }}

)

select * from final
