-- Product logins per person (email_key), point in time: logins in the 7 / 30 days before T up to the end of
-- T's day, distinct UTC days with a login in the 30 days, and the last login up to the end of T's day. Every
-- person with a product user has a row (zeros when they never logged in). Doc block `product_usage`.

with

users as (

    select * from {{ ref('int_product_users_matched') }}

),

logins as (

    select * from {{ ref('stg_admin__logins') }}
    where {{ before_end_of_as_of('logged_in_at') }}

),

people as (

    select distinct email_key

    from users

),

person_logins as (

    select
        users.email_key,
        logins.logged_in_at

    from logins
    inner join users
        on logins.user_id = users.user_id

),

totals as (

    select
        email_key,
        sum(case when {{ in_days_before_as_of('logged_in_at', 7) }} then 1 else 0 end) as logins_7d,
        sum(case when {{ in_days_before_as_of('logged_in_at', 30) }} then 1 else 0 end) as logins_30d,
        count(
            distinct case when {{ in_days_before_as_of('logged_in_at', 30) }} then cast(logged_in_at as date) end
        ) as active_days_30d,
        max(logged_in_at) as last_login_at

    from person_logins
    group by email_key

),

final as (

    select
        people.email_key,
        cast(coalesce(totals.logins_7d, 0) as integer) as logins_7d,
        cast(coalesce(totals.logins_30d, 0) as integer) as logins_30d,
        cast(coalesce(totals.active_days_30d, 0) as integer) as active_days_30d,
        totals.last_login_at

    from people
    left join totals
        on people.email_key = totals.email_key

)

select * from final
