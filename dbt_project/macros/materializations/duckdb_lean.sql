{#- DuckDB's view and table, with the statements a small build pays for cut to the few it needs.

    dbt's own versions build under a temporary name, look up and rename the old relation, drop the backup
    after the commit, and ask the catalog about foreign keys and indexes first: about ten statements per
    model, each a round of Jinja and events in dbt, which is most of what a small build costs. DuckDB runs
    DDL inside the transaction, so replacing the relation in one transaction is as atomic: a killed build
    leaves the old relation or the new one, never neither. A table is one `create or replace` (with an
    enforced contract: dbt's column check, then the declared columns and constraints, then the rows).
    PostgreSQL keeps dbt's versions. -#}

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
    {% call statement("main") -%}
        {%- if config.get("contract").enforced %}
        {#- dbt's contract: the query's columns and types checked first, the table made with them -#}
        {{ get_assert_columns_equivalent(compiled_code) }}
        create or replace table {{ target_relation }} {{ get_table_columns_and_constraints() }};
        insert into {{ target_relation }} {{ get_column_names() }} (
            {{ get_select_subquery(compiled_code) }}
        );
        {%- else %}
        create or replace table {{ target_relation }} as (
            {{ compiled_code }}
        );
        {%- endif %}
    {%- endcall %}
    {% do create_indexes(target_relation) %}
    {% do persist_docs(target_relation, model) %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}
