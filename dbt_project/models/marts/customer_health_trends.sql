-- One row per (customer, health dimension) for T: the score on T, on T-7 and on T-30 days (from
-- customer_health_history), the deltas and the trend label (doc block `health_trend`). Dimension `overall` is
-- health_score; the others are the component sub-scores. When the snapshot of T-7 (T-30) is missing, the
-- latest one up to var health_trend_tolerance_days older stands in. Snapshots after T are ignored, so a
-- rebuild for a past T gives that day's trends.

{{ config(indexes=postgres_indexes(['email_key'])) }}

{%- set dimensions = {
    'overall': 'health_score',
    'activity_recency': 'activity_recency_score',
    'support_sentiment': 'support_sentiment_score',
    'payment_health': 'payment_health_score',
    'engagement': 'engagement_score',
    'tenure': 'tenure_score',
    'mrr_weighting': 'mrr_weighting_score',
} %}
{%- set windows = [7, 30] %}
{%- set tolerance = var('health_trend_tolerance_days') %}

with

history as (

    select * from {{ ref('customer_health_history') }}
    where as_of_date <= {{ as_of_date() }}

),

current_snapshots as (

    select * from history
    where as_of_date = {{ as_of_date() }}

),

reference_candidates as (

    {%- for days in windows %}
    select
        history.*,
        {{ days }} as window_days,
        row_number() over (partition by history.email_key order by history.as_of_date desc) as candidate_rank

    from history
    where
        history.as_of_date <= {{ dbt.dateadd('day', -1 * days, as_of_date()) }}
        and history.as_of_date >= {{ dbt.dateadd('day', -1 * (days + tolerance), as_of_date()) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

references_7d as (

    select * from reference_candidates
    where window_days = 7 and candidate_rank = 1

),

references_30d as (

    select * from reference_candidates
    where window_days = 30 and candidate_rank = 1

),

dimension_scores as (

    {%- for dimension, column in dimensions.items() %}
    select
        current_snapshots.email_key,
        current_snapshots.as_of_date,
        '{{ dimension }}' as dimension,
        current_snapshots.{{ column }} as score,
        references_7d.as_of_date as reference_7d_date,
        references_7d.{{ column }} as score_7d_ago,
        references_30d.as_of_date as reference_30d_date,
        references_30d.{{ column }} as score_30d_ago

    from current_snapshots
    left join references_7d
        on current_snapshots.email_key = references_7d.email_key
    left join references_30d
        on current_snapshots.email_key = references_30d.email_key
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

deltas as (

    select
        *,
        score - score_7d_ago as delta_7d,
        score - score_30d_ago as delta_30d

    from dimension_scores

),

final as (

    select
        cast(email_key as varchar) as email_key,
        cast(dimension as varchar) as dimension,
        cast(score as decimal(5, 2)) as score,
        cast(reference_7d_date as date) as reference_7d_date,
        cast(score_7d_ago as decimal(5, 2)) as score_7d_ago,
        cast(delta_7d as decimal(6, 2)) as delta_7d,
        cast(reference_30d_date as date) as reference_30d_date,
        cast(score_30d_ago as decimal(5, 2)) as score_30d_ago,
        cast(delta_30d as decimal(6, 2)) as delta_30d,
        cast({{ health_trend_label('delta_7d', 'reference_7d_date') }} as varchar) as trend,
        cast({{ health_trend_label('delta_30d', 'reference_30d_date') }} as varchar) as trend_30d,
        cast(as_of_date as date) as as_of_date

    from deltas

)

select * from final
