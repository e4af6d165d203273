-- Onboarding per person who signed up by the end of T's day, from Userflow (doc block `product_usage`): the onboarding checklist's progress (vars
-- `onboarding_content_type`, `onboarding_content_name`; the best of the person's sessions), when it was
-- completed (null when that was after the end of T's day), the signup, Userflow's last seen (only when it is
-- not after T's day: Userflow keeps today's value), and whether onboarding stalled: signed up more than var
-- `onboarding_stall_days` days before T and not completed.

with

users as (

    select * from {{ ref('stg_userflow__users') }}
    where is_valid_email and {{ known_by_end_of_as_of('signed_up_at') }}

),

sessions as (

    select * from {{ ref('stg_userflow__content_sessions') }}
    where
        content_type = '{{ var("onboarding_content_type") }}'
        {%- if var('onboarding_content_name') %}
        and content_name = '{{ var("onboarding_content_name") }}'
        {%- endif %}
        and {{ before_end_of_as_of('created_at') }}

),

people as (

    select
        email_key,
        min(signed_up_at) as userflow_signed_up_at,
        max(case when {{ before_end_of_as_of('last_seen_at') }} then last_seen_at end) as userflow_last_seen_at

    from users
    group by email_key

),

onboarding as (

    select
        users.email_key,
        max(sessions.progress) as onboarding_progress,
        min(case when {{ before_end_of_as_of('sessions.completed_at') }} then sessions.completed_at end)
            as onboarding_completed_at

    from sessions
    inner join users
        on sessions.userflow_user_id = users.userflow_user_id
    group by users.email_key

),

final as (

    select
        people.email_key,
        people.userflow_signed_up_at,
        people.userflow_last_seen_at,
        cast(onboarding.onboarding_progress as decimal(5, 4)) as onboarding_progress,
        onboarding.onboarding_completed_at,
        coalesce(
            onboarding.onboarding_progress is not null
            and onboarding.onboarding_completed_at is null
            and people.userflow_signed_up_at
            < {{ dbt.dateadd('day', -1 * var('onboarding_stall_days'), as_of_timestamp()) }},
            false
        ) as is_onboarding_stalled

    from people
    left join onboarding
        on people.email_key = onboarding.email_key

)

select * from final
