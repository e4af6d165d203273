{#- The dbt descriptions of the models with meta.database_comments (the marts, the audit mart: the schemas BI
    tools such as Metabase read) as database comments on the relation and its columns, for every such model
    this run built, in one statement at the end of the run (on-run-end in dbt_project.yml).

    dbt's persist_docs does the same per model: a catalog lookup and two statements each, with dbt's Jinja and
    events around every one, which was a tenth of a small build. Here one catalog query lists the columns
    and one statement sets every comment. As with persist_docs, a documented column the relation lacks is
    skipped, and a model that failed or was skipped keeps the comments it had. -#}
{% macro database_comments(results) %}
    {%- if not execute -%}
        {{ return("") }}
    {%- endif -%}
    {%- set nodes = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- if node.resource_type == "model" and result.status == "success"
            and (node.config.meta or {}).get("database_comments") -%}
            {%- do nodes.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not nodes -%}
        {{ return("") }}
    {%- endif -%}
    {%- set schemas = nodes | map(attribute="schema") | unique | list -%}
    {%- set catalog -%}
        select table_schema, table_name, column_name
        from information_schema.columns
        where table_schema in ('{{ schemas | join("', '") }}')
    {%- endset -%}
    {#- a dict, not a list: each of the ~500 documented columns is looked up among thousands -#}
    {%- set present = {} -%}
    {%- for row in run_query(catalog).rows -%}
        {%- do present.update({row[0] ~ "." ~ row[1] ~ "." ~ row[2]: true}) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for node in nodes -%}
        {%- set kind = "view" if node.config.materialized == "view" else "table" -%}
        {%- set relation = api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias, type=kind) -%}
        {%- if node.description -%}
            {%- do statements.append(
                "comment on " ~ kind ~ " " ~ relation ~ " is " ~ comment_literal(node.description)) -%}
        {%- endif -%}
        {%- for name, column in node.columns.items() -%}
            {%- if column.description and (node.schema ~ "." ~ node.alias ~ "." ~ name) in present -%}
                {%- set quoted = adapter.quote(name) if column.quote else name -%}
                {%- do statements.append(
                    "comment on column " ~ relation ~ "." ~ quoted ~ " is " ~ comment_literal(column.description)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- DuckDB: one transaction for them all, not one commit per comment (about 40% less time) -#}
    {%- if target.type == "duckdb" -%}
        {%- do statements.insert(0, "begin") -%}
        {%- do statements.append("commit") -%}
    {%- endif -%}
    {{ return(statements | join(";\n") ~ ";") }}
{% endmacro %}

{#- A SQL string literal (standard quoting: DuckDB and PostgreSQL alike). -#}
{% macro comment_literal(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}
