{#- True for rows whose person has not asked to be forgotten (`gtm forget`): ops.forgotten holds
    sha256(email_key) of every erased person, so staging drops them on every later sync. -#}
{% macro not_forgotten(email_key_column) -%}
    not exists (
        select 1
        from {{ ref('stg_ops__forgotten') }} as forgotten
        where forgotten.email_hash = {{ sha256_hex(email_key_column) }}
    )
{%- endmacro %}
