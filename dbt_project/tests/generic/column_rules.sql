{#- Every plain column rule of one model in one test: one dbt node instead of one per rule, because dbt's
    cost per node (not the query) is what a small build pays for. Returns one row per broken rule with
    the rows (or, for unique, the duplicated values) that break it; `gtm build` names them when it fails.
    The row rules share one scan of the model.
      not_null:        [column, ...]
      unique:          [column, ...]                                    nulls are not duplicates
                       [[column, ...], ...] (a combination)             nulls count as values
      accepted_values: {column: [value, ...]}                           nulls pass
      not_negative:    [column, ...]                                    nulls pass
      accepted_range:  {column: {min_value: x, max_value: y}}           inclusive, either bound optional
      expressions:     [SQL that must be true on every row, ...]
    A rule that needs its own severity or `where` stays a test of its own. -#}
{% test column_rules(model, not_null=[], unique=[], accepted_values={}, not_negative=[], accepted_range={}, expressions=[]) %}

{%- set row_rules = [] -%}
{%- for column in not_null -%}
    {%- do row_rules.append(("not_null(" ~ column ~ ")", column ~ " is null")) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}{%- do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
    {%- do row_rules.append(("accepted_values(" ~ column ~ ")", column ~ " not in (" ~ listed | join(", ") ~ ")")) -%}
{%- endfor -%}
{%- for column in not_negative -%}
    {%- do row_rules.append(("not_negative(" ~ column ~ ")", column ~ " < 0")) -%}
{%- endfor -%}
{%- for column, bounds in accepted_range.items() -%}
    {%- set outside = [] -%}
    {%- if bounds.get("min_value") is not none -%}{%- do outside.append(column ~ " < " ~ bounds["min_value"]) -%}{%- endif -%}
    {%- if bounds.get("max_value") is not none -%}{%- do outside.append(column ~ " > " ~ bounds["max_value"]) -%}{%- endif -%}
    {%- do row_rules.append(("accepted_range(" ~ column ~ ")", "(" ~ outside | join(" or ") ~ ")")) -%}
{%- endfor -%}
{%- for expression in expressions -%}
    {%- do row_rules.append(("expression(" ~ expression ~ ")", "not coalesce(" ~ expression ~ ", false)")) -%}
{%- endfor %}

with
{%- if row_rules %}
row_rules as (
    select
        {%- for label, broken in row_rules %}
        sum(case when {{ broken }} then 1 else 0 end) as rule_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),
{%- endif %}

rules as (
    {%- for label, broken in row_rules %}
    select '{{ label | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing from row_rules
    union all
    {%- endfor %}
    {%- for columns in unique %}
    {%- set key = [columns] if columns is string else columns %}
    select '{{ "unique(" ~ key | join(", ") ~ ")" }}' as rule, count(*) as failing
    from (
        select {{ key | join(", ") }}
        from {{ model }}
        {%- if columns is string %}
        where {{ columns }} is not null
        {%- endif %}
        group by {{ key | join(", ") }}
        having count(*) > 1
    ) as duplicated
    union all
    {%- endfor %}
    select 'none' as rule, 0 as failing
)

select rule, failing
from rules
where failing > 0

{% endtest %}
