-- Expansion opportunities from product data (metrics.md "Product usage"), one row per (customer,
-- opportunity), for the decision marts to read (doc block `product_usage`):
-- seat_expansion when seat_utilization >= var `seat_expansion_utilization`, valued at the seats that bring
-- utilization back to var `seat_expansion_target_utilization` times the customer's MRR per purchased seat
-- (null without MRR); credits_running_low when the balance lasts fewer than var `credits_low_days` days at
-- the 30-day rate, valued at a month of credits at var `credit_unit_price`. Values are monthly, in the
-- reporting currency.

with

customers as (

    select * from {{ ref('int_customers_unified') }}

),

seat_expansion as (

    select
        email_key,
        'seat_expansion' as opportunity,
        {{ dbt.concat([
            "cast(seats_used as varchar)", "' of '", "cast(seats_purchased as varchar)", "' seats used'",
        ]) }} as detail,
        greatest(
            1,
            cast(ceiling(seats_used / {{ var('seat_expansion_target_utilization') }}) as integer) - seats_purchased
        ) as quantity,
        case when mrr > 0 then mrr / seats_purchased end as unit_value

    from customers
    where seat_utilization >= {{ var('seat_expansion_utilization') }} and seats_purchased > 0

),

credits_running_low as (

    select
        email_key,
        'credits_running_low' as opportunity,
        {{ dbt.concat([
            "cast(greatest(credits_balance, 0) as varchar)", "' credits left, '",
            "cast(credits_days_left as varchar)", "' days at the 30-day rate'",
        ]) }} as detail,
        credits_used_30d as quantity,
        {{ var('credit_unit_price') }} as unit_value

    from customers
    where credits_days_left < {{ var('credits_low_days') }}

),

opportunities as (

    select * from seat_expansion
    union all
    select * from credits_running_low

),

final as (

    select
        email_key,
        opportunity,
        detail,
        cast(quantity as integer) as quantity,
        cast({{ round_half_up('quantity * unit_value', 2) }} as decimal(18, 2)) as estimated_value

    from opportunities

)

select * from final
