-- One row per loaded source: when its data last finished loading, and whether that is older than var
-- source_stale_hours before T (00:00 UTC). The customer 360 view and the dashboard read it; the rule lives
-- here only.

{%- set loaded_sources = ['intercom', 'hubspot', 'calendly', 'admin', 'userflow', 'fathom'] %}

with

{% for source_name in loaded_sources %}
{{ source_name }}_loads as (

    select * from {{ ref('stg_' ~ source_name ~ '__loads') }}

),

{% endfor -%}

last_loads as (

    {% for source_name in loaded_sources %}
    select
        '{{ source_name }}' as source_name,
        max(inserted_at) as last_loaded_at
    from {{ source_name }}_loads
    where is_loaded
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        cast(source_name as {{ dbt.type_string() }}) as source_name,
        cast(last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at,
        cast({{ var('source_stale_hours') }} as integer) as stale_after_hours,
        coalesce(
            last_loaded_at < {{ dbt.dateadd('hour', -1 * var('source_stale_hours'), as_of_timestamp()) }},
            true
        ) as is_stale

    from last_loads

)

select * from final
