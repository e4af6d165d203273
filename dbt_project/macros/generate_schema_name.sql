{#- Custom schema names are used as-is (staging, intermediate, marts, audit, seeds), not prefixed by the
    target schema, so the warehouse layout is the same on every target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
