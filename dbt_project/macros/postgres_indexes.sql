{#- The `indexes` config of a table that is read one customer at a time (the API, `gtm customer`): one
    b-tree index on `columns` on PostgreSQL, none on DuckDB, whose columnar scan of a mart finds one
    customer in milliseconds and whose ART indexes would only slow the build. -#}
{% macro postgres_indexes(columns) -%}
    {{ return([{'columns': columns}] if target.type == 'postgres' else []) }}
{%- endmacro %}
