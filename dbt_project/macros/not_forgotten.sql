{#- True for rows whose person has not asked to be forgotten (`gtm forget`): ops.forgotten holds
    sha256(email_key) of every erased person, so staging drops them on every later sync. A row without an
    email is kept. The ref carries no alias: dbt's unit tests render a ref as an aliased subquery already. -#}
{% macro not_forgotten(email_key_column) -%}
    coalesce({{ sha256_hex(email_key_column) }} not in (
        select email_hash
        from {{ ref('stg_ops__forgotten') }}
        where email_hash is not null
    ), true)
{%- endmacro %}
