{#- The staging select of a loader's `quarantine` table: every loader writes the same columns
    (loaders/common.py), so each source's stg_<source>__quarantine model is this one macro. -#}
{% macro staging_quarantine(source_name) -%}
with

quarantine as (

    {{ source_or_empty(source_name, 'quarantine', {
        'quarantine_id': 'varchar',
        'source': 'varchar',
        'entity': 'varchar',
        'record_id': 'varchar',
        'reason': 'varchar',
        'raw_record': 'varchar',
        'quarantined_at': 'timestamp with time zone',
    }) }}

),

renamed as (

    select
        quarantine_id,
        source as source_name,
        entity,
        record_id,
        reason,
        raw_record,
        {{ to_utc_timestamp('quarantined_at') }} as quarantined_at

    from quarantine

)

select * from renamed
{%- endmacro %}
