{#- True when `expression` matches the regular expression `pattern` (a SQL string literal) anywhere.
    Postgres ARE and DuckDB RE2 agree on the constructs we use (classes, anchors, alternation). -#}
{% macro regex_matches(expression, pattern, case_insensitive=false) -%}
    {{ return(adapter.dispatch('regex_matches', 'gtm')(expression, pattern, case_insensitive)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern, case_insensitive=false) -%}
    regexp_like({{ expression }}, {{ pattern }}{% if case_insensitive %}, 'i'{% endif %})
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern, case_insensitive=false) -%}
    regexp_matches({{ expression }}, {{ pattern }}{% if case_insensitive %}, 'i'{% endif %})
{%- endmacro %}

{% macro postgres__regex_matches(expression, pattern, case_insensitive=false) -%}
    ({{ expression }} {% if case_insensitive %}~*{% else %}~{% endif %} {{ pattern }})
{%- endmacro %}


{#- True when `expression` contains one of `words` (a list of words or phrases) as a whole word,
    case-insensitive. Regex metacharacters in the words are escaped. Word boundaries: \y in Postgres, \b in
    DuckDB (RE2). -#}
{% macro matches_any_word(expression, words) -%}
    {{ return(adapter.dispatch('matches_any_word', 'gtm')(expression, words)) }}
{%- endmacro %}

{% macro word_alternation(words) -%}
    {%- set escaped = [] -%}
    {%- for word in words -%}
        {%- set ns = namespace(text='') -%}
        {%- for character in word | string | lower -%}
            {%- if character in '\\.^$|?*+()[]{}' -%}
                {%- set ns.text = ns.text ~ '\\' ~ character -%}
            {%- elif character == "'" -%}
                {%- set ns.text = ns.text ~ "''" -%}
            {%- elif character == ' ' -%}
                {%- set ns.text = ns.text ~ '\\s+' -%}
            {%- else -%}
                {%- set ns.text = ns.text ~ character -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do escaped.append(ns.text) -%}
    {%- endfor -%}
    {{- escaped | join('|') -}}
{%- endmacro %}

{% macro default__matches_any_word(expression, words) -%}
    {{ gtm.regex_matches(expression, "'\\b(" ~ gtm.word_alternation(words) ~ ")\\b'", true) }}
{%- endmacro %}

{% macro postgres__matches_any_word(expression, words) -%}
    {{ gtm.regex_matches(expression, "'\\y(" ~ gtm.word_alternation(words) ~ ")\\y'", true) }}
{%- endmacro %}

{% macro duckdb__matches_any_word(expression, words) -%}
    {{ gtm.regex_matches(expression, "'\\b(" ~ gtm.word_alternation(words) ~ ")\\b'", true) }}
{%- endmacro %}
