{#- True for rows whose person has not asked to be forgotten (`gtm forget`): ops.forgotten holds
    sha256(email_key) of every erased person, so staging drops them on every later sync. The ref carries
    no alias: dbt's unit tests and --empty builds render it as an aliased subquery already. -#}
{% macro not_forgotten(email_key_column) -%}
    {{ sha256_hex(email_key_column) }} not in (
        select email_hash
        from {{ ref('stg_ops__forgotten') }}
        where email_hash is not null
    )
{%- endmacro %}
