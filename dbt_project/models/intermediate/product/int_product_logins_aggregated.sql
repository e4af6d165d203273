-- Product logins per person (email_key), point in time: logins in the 7 / 30 days before T up to the end of
-- T's day, distinct UTC days with a login in the 30 days, and the last login up to the end of T's day. Every
-- person with a product user has a row (zeros when they never logged in). Doc block `product_usage`.
-- The whole history is only grouped per user (its last login, on the integer key); the counts join the 30
-- days of logins, not every login, to the users.

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

user_last_logins as (

    select
        user_id,
        max(logged_in_at) as last_login_at

    from logins
    group by user_id

),

last_logins as (

    select
        users.email_key,
        max(user_last_logins.last_login_at) as last_login_at

    from user_last_logins
    inner join users
        on user_last_logins.user_id = users.user_id
    group by users.email_key

),

recent_logins as (

    select
        users.email_key,
        logins.logged_in_at

    from logins
    inner join users
        on logins.user_id = users.user_id
    where {{ in_days_before_as_of('logins.logged_in_at', 30) }}

),

totals as (

    select
        email_key,
        sum(case when {{ in_days_before_as_of('logged_in_at', 7) }} then 1 else 0 end) as logins_7d,
        count(*) as logins_30d,
        count(distinct cast(logged_in_at as date)) as active_days_30d

    from recent_logins
    group by email_key

),

final as (

    select
        people.email_key,
        cast(coalesce(totals.logins_7d, 0) as integer) as logins_7d,
        cast(coalesce(totals.logins_30d, 0) as integer) as logins_30d,
        cast(coalesce(totals.active_days_30d, 0) as integer) as active_days_30d,
        last_logins.last_login_at

    from people
    left join totals
        on people.email_key = totals.email_key
    left join last_logins
        on people.email_key = last_logins.email_key

)

select * from final
