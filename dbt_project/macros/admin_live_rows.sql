{#- The rows of a product-database table (loaders/admin) that still exist at the source: a row is dropped
    when the latest key scan (`<table>__keys`, every key the scan saw, stamped `scanned_at`) did not see its
    key although the row was loaded no later than that scan. Before the first scan every row counts.
    columns: ordered mapping column name -> SQL type (canonical names, as the loader lands them). -#}
{% macro admin_live_rows(table_name, key, columns) -%}
    {%- set key_type = columns[key] -%}
    {%- set with_load = dict(columns) -%}
    {%- do with_load.update({'_dlt_load_id': 'varchar'}) -%}
with

source as (

    {{ source_or_empty('admin', table_name, with_load) }}

),

scanned_keys as (

    {{ source_or_empty('admin', table_name ~ '__keys', {
        key: key_type,
        'scanned_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar',
    }) }}

),

latest_scan as (

    select
        max(scanned_at) as scanned_at,
        max(cast(_dlt_load_id as decimal(20, 7))) as scan_load_id

    from scanned_keys

),

seen_keys as (

    select scanned_keys.{{ key }}

    from scanned_keys
    inner join latest_scan
        on scanned_keys.scanned_at = latest_scan.scanned_at

),

live as (

    select source.*

    from source
    cross join latest_scan
    left join seen_keys
        on source.{{ key }} = seen_keys.{{ key }}
    where
        latest_scan.scan_load_id is null
        or seen_keys.{{ key }} is not null
        or cast(source._dlt_load_id as decimal(20, 7)) > latest_scan.scan_load_id

)
{%- endmacro %}
