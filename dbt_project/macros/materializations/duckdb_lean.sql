{#- DuckDB's view and table, with the statements a small build pays for cut to the few it needs.

    dbt's own versions build under a temporary name, look up and rename the old relation, drop the backup
    after the commit, and ask the catalog about foreign keys and indexes first: about ten statements per
    model, each a round of Jinja and events in dbt, which is most of what a small build costs. DuckDB runs
    DDL inside the transaction, so replacing the relation in one transaction is as atomic: a killed build
    leaves the old relation or the new one, never neither. A table is one `create or replace`; one with an
    enforced contract (columns, types, constraints) still goes through dbt's create_table_as. PostgreSQL
    keeps dbt's versions. -#}

{% materialization view, adapter="duckdb" %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type="view") -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- if existing_relation is not none and not existing_relation.is_view %}
    {{ adapter.drop_relation(existing_relation) }}
    {%- endif %}
    {% call statement("main") -%}
        create or replace view {{ target_relation }} as (
            {{ sql }}
        );
    {%- endcall %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}

{% materialization table, adapter="duckdb", supported_languages=["sql"] %}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type="table") -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- if existing_relation is not none and not existing_relation.is_table %}
    {{ adapter.drop_relation(existing_relation) }}
    {%- endif %}
    {%- if config.get("contract").enforced %}
    {#- the contract's columns and types: dbt's create_table_as under a new name, then in its place -#}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {% call statement("main") -%}
        drop table if exists {{ intermediate_relation }};
        {{ create_table_as(False, intermediate_relation, compiled_code) }}
    {%- endcall %}
    {%- if existing_relation is not none and existing_relation.is_table %}
    {{ adapter.drop_relation(existing_relation) }}
    {%- endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
    {%- else %}
    {% call statement("main") -%}
        create or replace table {{ target_relation }} as (
            {{ compiled_code }}
        );
    {%- endcall %}
    {%- endif %}
    {% do create_indexes(target_relation) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}
