-- Transcript lines, present only when the loader runs with `transcripts = true`.
with

source as (

    {{ source_or_empty('fathom', 'meetings__transcript', {
        'text': 'varchar',
        'timestamp': 'varchar',
        'speaker__matched_calendar_invitee_email': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
    }) }}

),

renamed as (

    select
        _dlt_parent_id as meeting_dlt_id,
        _dlt_list_idx as line_position,
        text as line_text,
        timestamp as spoken_at_offset,
        lower(trim(speaker__matched_calendar_invitee_email)) as speaker_email_key

    from source

)

select * from renamed
where {{ not_forgotten('speaker_email_key') }}
