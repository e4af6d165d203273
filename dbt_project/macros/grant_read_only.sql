{#- `make grants` / `dbt run-operation grant_read_only`: create (or update) a read-only PostgreSQL role for BI
    tools with USAGE on schema marts, SELECT on every table in it, and default privileges so the tables that
    later builds create (as the user running this) are readable too. The role can log in and read marts,
    and nothing else: no CREATE, INSERT, UPDATE, DELETE or TRUNCATE anywhere, no temporary tables and no
    large objects (both revoked from PUBLIC and granted back to the user running this), and server-side
    timeouts so an idle transaction of a reader cannot hold a lock for long.
    Role name: env GTM_READONLY_ROLE (default gtm_reader). Password: env GTM_READONLY_PASSWORD_VERIFIER, the
    SCRAM-SHA-256 verifier `make grants` computes from GTM_READONLY_PASSWORD (python -m gtm.grants), so the
    password itself never reaches dbt, its logs or its artifacts. -#}
{% macro grant_read_only(schema='marts') -%}
    {%- if target.type != 'postgres' -%}
        {{ exceptions.raise_compiler_error(
            'grant_read_only is for PostgreSQL (GTM_WAREHOUSE=postgres); a DuckDB file is read-only by opening it so'
        ) }}
    {%- endif -%}
    {%- set role = env_var('GTM_READONLY_ROLE', 'gtm_reader') | trim -%}
    {%- set password = env_var('GTM_READONLY_PASSWORD_VERIFIER', '') -%}
    {%- if not password.startswith('SCRAM-SHA-256$') -%}
        {{ exceptions.raise_compiler_error(
            'run `make grants` with GTM_READONLY_PASSWORD set (it passes the password\'s verifier to this macro)'
        ) }}
    {%- endif -%}
    {%- set quoted_role = adapter.quote(role) -%}
    {%- set large_objects = 'lo_from_bytea(oid, bytea), lo_create(oid), lo_creat(integer), '
        ~ 'lo_put(oid, bigint, bytea), lo_open(oid, integer)' -%}
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
        "revoke temporary on database " ~ adapter.quote(target.dbname) ~ " from public, " ~ quoted_role,
        "grant temporary on database " ~ adapter.quote(target.dbname) ~ " to current_user",
        "do $lo$ begin "
            ~ "revoke execute on function " ~ large_objects ~ " from public; "
            ~ "grant execute on function " ~ large_objects ~ " to current_user; "
            ~ "exception when insufficient_privilege then raise warning "
            ~ "'large objects stay open to every role: run make grants as a superuser to close them'; "
            ~ "end $lo$",
        "alter role " ~ quoted_role ~ " set idle_in_transaction_session_timeout = '"
            ~ var('readonly_idle_timeout', '60s') ~ "'",
        "alter role " ~ quoted_role ~ " set statement_timeout = '" ~ var('readonly_statement_timeout', '120s') ~ "'",
    ] -%}
    {%- for statement in statements %}
        {%- do run_query(statement) %}
    {%- endfor %}
    {{ log("read-only role " ~ role ~ ": usage and select on schema " ~ schema
        ~ " (and tables built later) in database " ~ target.dbname, info=true) }}
{%- endmacro %}
