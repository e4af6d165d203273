-- Meetings per customer (an external invitee's email_key) from Fathom, point in time (doc block
-- `product_usage`): meetings started in the var `meeting_window_days` days before T, the last one, the action
-- items of the latest meeting not marked done, and whether a meeting started in the var `cancel_window_days`
-- days before T mentions cancelling (var `cancel_keywords`, whole words) in its summary or in what the
-- customer said (transcript lines of external speakers, when transcripts are loaded).

with

meetings as (

    select * from {{ ref('stg_fathom__meetings') }}
    where started_at is not null and {{ before_end_of_as_of('started_at') }}

),

invitees as (

    select * from {{ ref('stg_fathom__meeting_invitees') }}
    where is_external and is_valid_email

),

action_items as (

    select * from {{ ref('stg_fathom__action_items') }}

),

transcript_lines as (

    select * from {{ ref('stg_fathom__transcript_lines') }}

),

customer_speech as (

    select
        transcript_lines.meeting_dlt_id,
        {{ dbt.listagg('transcript_lines.line_text', "' '", 'order by transcript_lines.line_position') }}
            as customer_transcript

    from transcript_lines
    inner join invitees
        on
            transcript_lines.meeting_dlt_id = invitees.meeting_dlt_id
            and transcript_lines.speaker_email_key = invitees.email_key
    group by transcript_lines.meeting_dlt_id

),

open_items as (

    select
        meeting_dlt_id,
        sum(case when is_completed then 0 else 1 end) as open_action_items

    from action_items
    group by meeting_dlt_id

),

customer_meetings as (

    select distinct
        invitees.email_key,
        meetings.recording_id,
        meetings.dlt_id,
        meetings.started_at,
        coalesce(
            {{ matches_any_word(
                dbt.concat(["coalesce(meetings.summary_markdown, '')", "' '",
                    "coalesce(customer_speech.customer_transcript, '')"]),
                var('cancel_keywords')
            ) }},
            false
        )
        and {{ in_days_before_as_of('meetings.started_at', var('cancel_window_days')) }} as mentioned_cancel

    from meetings
    inner join invitees
        on meetings.dlt_id = invitees.meeting_dlt_id
    left join customer_speech
        on meetings.dlt_id = customer_speech.meeting_dlt_id

),

ranked as (

    select
        *,
        row_number() over (partition by email_key order by started_at desc, recording_id desc) as meeting_rank

    from customer_meetings

),

totals as (

    select
        email_key,
        sum(case when {{ in_days_before_as_of('started_at', var('meeting_window_days')) }} then 1 else 0 end)
            as meetings_90d,
        max(started_at) as last_meeting_at,
        max(case when mentioned_cancel then 1 else 0 end) = 1 as mentioned_cancel_in_meeting

    from customer_meetings
    group by email_key

),

final as (

    select
        totals.email_key,
        cast(totals.meetings_90d as integer) as meetings_90d,
        totals.last_meeting_at,
        cast(coalesce(open_items.open_action_items, 0) as integer) as open_action_items,
        totals.mentioned_cancel_in_meeting

    from totals
    inner join ranked
        on totals.email_key = ranked.email_key and ranked.meeting_rank = 1
    left join open_items
        on ranked.dlt_id = open_items.meeting_dlt_id

)

select * from final
