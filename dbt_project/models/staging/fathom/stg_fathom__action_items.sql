with

source as (

    {{ source_or_empty('fathom', 'meetings__action_items', {
        'description': 'varchar',
        'completed': 'boolean',
        'assignee__email': 'varchar',
        'assignee__name': 'varchar',
        '_dlt_parent_id': 'varchar',
        '_dlt_list_idx': 'bigint',
    }) }}

),

renamed as (

    select
        _dlt_parent_id as meeting_dlt_id,
        _dlt_list_idx as action_item_position,
        description as action_item,
        coalesce(completed, false) as is_completed,
        lower(trim(assignee__email)) as assignee_email_key,
        nullif(trim(assignee__name), '') as assignee_name

    from source

)

select * from renamed
where {{ not_forgotten('assignee_email_key') }}
