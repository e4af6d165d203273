with

source as (

    {{ source_or_empty('fathom', 'meetings__calendar_invitees', {
        'name': 'varchar',
        'email': 'varchar',
        'is_external': 'boolean',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
    }) }}

),

renamed as (

    select
        _dlt_parent_id as meeting_dlt_id,
        _dlt_list_idx as invitee_position,
        nullif(trim(name), '') as invitee_name,
        trim(email) as email,
        lower(trim(email)) as email_key,
        coalesce(
            {{ regex_matches("lower(trim(email))", "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'") }},
            false
        ) as is_valid_email,
        coalesce(is_external, false) as is_external

    from source

)

select * from renamed
where {{ not_forgotten('email_key') }}
