{#- Select the given columns from a source table when it exists, else a typed empty relation with the same
    columns. dlt creates child tables (and columns that were null everywhere) only once data has them, so an
    absent table or column must not break the build. source() is always called, so lineage shows the source.
    columns: ordered mapping column name -> SQL type. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set source_relation = source(source_name, table_name) -%}
    {%- set existing = none -%}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(
            database=source_relation.database,
            schema=source_relation.schema,
            identifier=source_relation.identifier,
        ) -%}
    {%- endif -%}
    {%- if existing is not none -%}
        {%- set present = [] -%}
        {%- for column in adapter.get_columns_in_relation(existing) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor %}
    select
        {%- for name, data_type in columns.items() %}
        {% if name | lower in present -%}
        cast({{ adapter.quote(name) }} as {{ data_type }})
        {%- else -%}
        cast(null as {{ data_type }})
        {%- endif %} as {{ adapter.quote(name) }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ source_relation }}
    {%- else %}
    -- {{ source_relation }} does not exist (yet): typed empty relation
    select
        {%- for name, data_type in columns.items() %}
        cast(null as {{ data_type }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}
