-- The MRR movements ledger: one row per customer, day, movement type and currency (metrics.md, Revenue
-- timeline). Business movements carry the native amount and the reporting amount at the rate of the day's
-- month; fx rows only a reporting amount.

select * from {{ ref('int_revenue_movements') }}
