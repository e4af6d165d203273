{#- A pre-hook of every model: on PostgreSQL the model's transaction plans without nested-loop joins.
    The staging views filter on expressions (lower(type) = 'subscription', coalesce(...) = 'licensed') that
    PostgreSQL has no statistics for, so it estimates one row where there are tens of thousands and joins
    them in a nested loop: at 2,000 customers int_stripe_subscription_prices ran for over five minutes
    instead of six seconds. A build reads whole tables, which hash and merge joins serve; readers of the
    marts (the API's lookups by email_key) keep the default planner. Nothing on DuckDB. -#}
{% macro postgres_join_strategy() -%}
    {%- if target.type == 'postgres' -%}
        set local enable_nestloop = off
    {%- endif -%}
{%- endmacro %}
