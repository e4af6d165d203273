{#- The staging select of a dlt dataset's `_dlt_loads` table: every source's stg_<source>__loads model
    (the loads behind the freshness checks) is this one macro. -#}
{% macro staging_loads(source_name) -%}
with

source as (

    {{ source_or_empty(source_name, '_dlt_loads', {
        'load_id': 'varchar',
        'schema_name': 'varchar',
        'status': 'bigint',
        'inserted_at': 'timestamp with time zone',
    }) }}

),

renamed as (

    select
        load_id,
        schema_name,
        status as load_status,
        status = 0 as is_loaded,
        {{ to_utc_timestamp('inserted_at') }} as inserted_at

    from source

)

select * from renamed
{%- endmacro %}
