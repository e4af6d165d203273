"""The facts of a daily or weekly digest, read from the marts for the as-of date T: totals from
marts.dashboard_summary (the health scope), the comparison with an earlier snapshot from
marts.digest_comparisons and marts.digest_new_at_risk, and the most common actions of marts.at_risk_customers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from gtm.warehouse import Warehouse

STATUSES = ("healthy", "at_risk", "high_risk", "critical")
NEW_AT_RISK_LIMIT = 10
TOP_ACTIONS = 5


def digest_key(period: str, as_of: date) -> str:
    """One digest per day (daily) or per ISO week (weekly)."""
    if period == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"digest_weekly|{year}-W{week:02d}"
    return f"digest_daily|{as_of.isoformat()}"


def digest_facts(warehouse: Warehouse, as_of: date, period: str) -> dict[str, Any]:
    """The digest's numbers, every one read from a mart."""
    summary = warehouse.query("select * from marts.dashboard_summary")[0]
    compared = warehouse.query("select * from marts.digest_comparisons where period = %s", (period,))[0]
    new_at_risk = warehouse.query(
        "select email_key, email, name, mrr, health_score, health_status, recommended_action"
        " from marts.digest_new_at_risk where period = %s order by risk_rank limit %s",
        (period, NEW_AT_RISK_LIMIT),
    )
    top_actions = warehouse.query(
        "select recommended_action, count(*) as customers, coalesce(sum(mrr), 0) as mrr"
        " from marts.at_risk_customers where recommended_action is not null"
        " group by recommended_action order by customers desc, mrr desc, recommended_action limit %s",
        (TOP_ACTIONS,),
    )
    return {
        "period": period,
        "as_of_date": summary["as_of_date"],
        "compared_with": compared["compared_with"],
        "total_customers": summary["total_customers"],
        "paying_customers": summary["paying_customers"],
        "total_mrr": summary["total_mrr"],
        "unconverted_mrr": summary["unconverted_mrr"],
        "total_arr": summary["total_arr"],
        "avg_health_score": summary["avg_health_score"],
        "previous_total_mrr": compared["previous_total_mrr"],
        "health": {
            status: {
                "count": summary[f"{status}_customers"],
                "mrr": summary[f"{status}_mrr"],
                "previous_count": compared[f"previous_{status}_customers"],
            }
            for status in STATUSES
        },
        "new_at_risk_count": compared["new_at_risk_count"],
        "new_at_risk_mrr": Decimal(str(compared["new_at_risk_mrr"])),
        "new_at_risk": new_at_risk,
        "top_actions": [
            {
                "recommended_action": row["recommended_action"],
                "customers": row["customers"],
                "mrr": Decimal(str(row["mrr"])),
            }
            for row in top_actions
        ],
    }
