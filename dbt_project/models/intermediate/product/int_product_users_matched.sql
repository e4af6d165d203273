-- The product's users with a valid email who existed by the end of T's day, keyed by email_key. Several users
-- with one email_key are one person: the most recently updated is the primary user, whose account gives the
-- customer's seats and credits.

with

users as (

    select * from {{ ref('stg_admin__users') }}
    where is_valid_email and {{ before_end_of_as_of('created_at') }}

),

ranked as (

    select
        *,
        row_number() over (partition by email_key order by updated_at desc, user_id desc) as user_rank,
        count(*) over (partition by email_key) as users_with_email_key

    from users

),

final as (

    select
        user_id,
        account_id,
        email_key,
        email,
        user_name,
        created_at,
        deactivated_at,
        user_rank = 1 as is_primary_user,
        users_with_email_key

    from ranked

)

select * from final
