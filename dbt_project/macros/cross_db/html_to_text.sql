{#- HTML -> plain text: tags become spaces, common entities are decoded (&amp; last, so "&amp;lt;" stays
    "&lt;"), whitespace runs collapse to one space, trimmed. -#}
{% macro html_to_text(html) -%}
    {{ return(adapter.dispatch('html_to_text', 'gtm')(html)) }}
{%- endmacro %}

{% macro default__html_to_text(html) -%}
    trim(regexp_replace(
        replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
            regexp_replace(coalesce({{ html }}, ''), '<[^>]*>', ' ', 'g'),
            '&nbsp;', ' '), '&#160;', ' '), '&#39;', ''''), '&apos;', ''''), '&rsquo;', ''''), '’', ''''),
            '&quot;', '"'), '&#34;', '"'), '&lt;', '<'), '&gt;', '>'), '&amp;', '&'),
        '\s+', ' ', 'g'
    ))
{%- endmacro %}

{% macro duckdb__html_to_text(html) -%}
    {{ gtm.default__html_to_text(html) }}
{%- endmacro %}

{% macro postgres__html_to_text(html) -%}
    {{ gtm.default__html_to_text(html) }}
{%- endmacro %}
