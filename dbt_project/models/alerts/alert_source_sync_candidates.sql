-- Source sync alert candidates for T: one row per source whose latest sync attempt up to the end of T
-- failed, or whose last successful sync finished more than var alert_sync_stale_hours before the end of T
-- (never read the wall clock: T + 1 day is "now" for a build of T). Window: the as-of date, so a broken
-- source is repeated at most daily. Sources that were only ever skipped (no credentials) are ignored.

{%- set stale_hours = var('alert_sync_stale_hours', 48) %}
{%- set end_of_day = dbt.dateadd('day', 1, as_of_timestamp()) %}

with

sync_log as (

    select * from {{ ref('stg_ops__sync_log') }}

),

attempts as (

    select
        source_name,
        sync_status,
        finished_at,
        error_message,
        row_number() over (partition by source_name order by finished_at desc) as attempt_rank

    from sync_log
    where
        sync_status in ('success', 'failed')
        and finished_at < {{ end_of_day }}

),

sources as (

    select
        source_name,
        max(case when sync_status = 'success' then finished_at end) as last_success_at,
        max(case when attempt_rank = 1 then sync_status end) as last_status,
        max(case when attempt_rank = 1 then finished_at end) as last_attempt_at,
        max(case when attempt_rank = 1 then error_message end) as last_error

    from attempts
    group by source_name

),

fired as (

    select
        *,
        case
            when last_status = 'failed'
                then {{ dbt.concat([
                    "'last sync failed at '", "cast(last_attempt_at as varchar)",
                    "coalesce(" ~ dbt.concat(["': '", "last_error"]) ~ ", '')",
                ]) }}
            when last_success_at is null then 'no successful sync yet'
            else {{ dbt.concat([
                "'no successful sync since '", "cast(last_success_at as varchar)",
                "' (more than " ~ stale_hours ~ " hours before the end of '",
                "cast(" ~ as_of_date() ~ " as varchar)", "')'",
            ]) }}
        end as detail

    from sources
    where
        last_status = 'failed'
        or last_success_at is null
        or last_success_at < {{ dbt.dateadd('hour', -1 * stale_hours, end_of_day) }}

),

final as (

    select
        {{ dbt.concat(["'source_sync|'", "source_name", "'|'", "cast(" ~ as_of_date() ~ " as varchar)"]) }}
            as dedupe_key,
        'source_sync' as alert_rule,
        'high' as severity,
        cast({{ as_of_date() }} as varchar) as alert_window,
        cast(null as varchar) as email_key,
        cast(null as varchar) as email,
        cast(null as varchar) as name,
        source_name,
        cast(null as varchar) as owner_email,
        cast(null as varchar) as owner_slack_user_id,
        cast(null as decimal(18, 2)) as mrr,
        cast(null as decimal(18, 2)) as mrr_at_risk,
        cast(null as decimal(18, 2)) as previous_mrr,
        cast(null as integer) as health_score,
        cast(null as varchar) as health_status,
        cast(null as integer) as previous_health_score,
        cast(null as varchar) as previous_health_status,
        cast(null as integer) as health_change,
        'Check the source credentials and the output of `gtm sync`, then sync again' as recommended_action,
        detail,
        {{ as_of_date() }} as as_of_date

    from fired

)

select * from final
