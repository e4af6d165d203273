{#- `make grants` / `dbt run-operation grant_read_only`: create (or update) a read-only PostgreSQL role for BI
    tools with USAGE on schema marts, SELECT on every table in it, and default privileges so the tables that
    later builds create (as the user running this) are readable too. The role can log in and read marts,
    and nothing else: no CREATE, INSERT, UPDATE, DELETE or TRUNCATE anywhere.
    Role name: env GTM_READONLY_ROLE (default gtm_reader); password: env GTM_READONLY_PASSWORD (required). -#}
{% macro grant_read_only(schema='marts') -%}
    {%- if target.type != 'postgres' -%}
        {{ exceptions.raise_compiler_error(
            'grant_read_only is for PostgreSQL (GTM_WAREHOUSE=postgres); a DuckDB file is read-only by opening it so'
        ) }}
    {%- endif -%}
    {%- set role = env_var('GTM_READONLY_ROLE', 'gtm_reader') | trim -%}
    {%- set password = env_var('GTM_READONLY_PASSWORD', '') -%}
    {%- if not password -%}
        {{ exceptions.raise_compiler_error('set GTM_READONLY_PASSWORD to the password of the read-only role') }}
    {%- endif -%}
    {%- set quoted_role = adapter.quote(role) -%}
    {%- set literal_password = "'" ~ password | replace("'", "''") ~ "'" -%}
    {%- set literal_role = "'" ~ role | replace("'", "''") ~ "'" -%}
    {%- set statements = [
        "do $grant$ begin if not exists (select from pg_roles where rolname = " ~ literal_role ~ ") then "
            ~ "create role " ~ quoted_role ~ " login password " ~ literal_password ~ "; else "
            ~ "alter role " ~ quoted_role ~ " login password " ~ literal_password ~ "; end if; end $grant$",
        "create schema if not exists " ~ schema,
        "grant connect on database " ~ adapter.quote(target.dbname) ~ " to " ~ quoted_role,
        "grant usage on schema " ~ schema ~ " to " ~ quoted_role,
        "grant select on all tables in schema " ~ schema ~ " to " ~ quoted_role,
        "alter default privileges in schema " ~ schema ~ " grant select on tables to " ~ quoted_role,
    ] -%}
    {%- for statement in statements %}
        {%- do run_query(statement) %}
    {%- endfor %}
    {{ log("read-only role " ~ role ~ ": usage and select on schema " ~ schema
        ~ " (and tables built later) in database " ~ target.dbname, info=true) }}
{%- endmacro %}
