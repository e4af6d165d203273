"""The facts of a daily or weekly digest, read from the marts for the as-of date T and compared with the
health history 1 or 7 days before (the latest snapshot on or before that day)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from gtm.warehouse import Warehouse

STATUSES = ("healthy", "at_risk", "high_risk", "critical")
AT_RISK_STATUSES = ("at_risk", "high_risk", "critical")
PERIOD_DAYS = {"daily": 1, "weekly": 7}
NEW_AT_RISK_LIMIT = 10
TOP_ACTIONS = 5


def digest_key(period: str, as_of: date) -> str:
    """One digest per day (daily) or per ISO week (weekly)."""
    if period == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"digest_weekly|{year}-W{week:02d}"
    return f"digest_daily|{as_of.isoformat()}"


def comparison_date(warehouse: Warehouse, as_of: date, period: str) -> date | None:
    rows = warehouse.query(
        "select max(as_of_date) as compared_with from marts.customer_health_history where as_of_date <= %s",
        (as_of - timedelta(days=PERIOD_DAYS[period]),),
    )
    return rows[0]["compared_with"] if rows else None


def digest_facts(warehouse: Warehouse, as_of: date, period: str) -> dict[str, Any]:
    """Totals and distribution from marts.dashboard_summary, changes from marts.customer_health_history,
    new at-risk customers and top actions from marts.at_risk_customers."""
    summary = warehouse.query("select * from marts.dashboard_summary")[0]
    compared = comparison_date(warehouse, as_of, period)
    before: dict[str, Any] = {"mrr": None, **{status: None for status in STATUSES}}
    previous_at_risk: set[str] = set()
    if compared is not None:
        snapshot = warehouse.query(
            "select email_key, health_status, mrr from marts.customer_health_history where as_of_date = %s",
            (compared,),
        )
        before["mrr"] = sum(
            (Decimal(str(row["mrr"])) for row in snapshot if row["mrr"] is not None), Decimal("0")
        )
        for status in STATUSES:
            before[status] = sum(1 for row in snapshot if row["health_status"] == status)
        previous_at_risk = {row["email_key"] for row in snapshot if row["health_status"] in AT_RISK_STATUSES}
    at_risk = warehouse.query(
        "select email_key, email, name, mrr, health_score, health_status, recommended_action "
        "from marts.at_risk_customers order by risk_rank"
    )
    new_at_risk = [
        row for row in at_risk if compared is not None and row["email_key"] not in previous_at_risk
    ]
    actions: dict[str, dict[str, Any]] = {}
    for row in at_risk:
        if row["recommended_action"]:
            cell = actions.setdefault(row["recommended_action"], {"customers": 0, "mrr": Decimal("0")})
            cell["customers"] += 1
            cell["mrr"] += Decimal(str(row["mrr"] or 0))
    top_actions = sorted(actions.items(), key=lambda item: (-item[1]["customers"], -item[1]["mrr"], item[0]))
    return {
        "period": period,
        "as_of_date": summary["as_of_date"],
        "compared_with": compared,
        "total_customers": summary["total_customers"],
        "paying_customers": summary["paying_customers"],
        "total_mrr": summary["total_mrr"],
        "total_arr": summary["total_arr"],
        "avg_health_score": summary["avg_health_score"],
        "previous_total_mrr": before["mrr"],
        "health": {
            status: {
                "count": summary[f"{status}_customers"],
                "mrr": summary[f"{status}_mrr"],
                "previous_count": before[status],
            }
            for status in STATUSES
        },
        "new_at_risk_count": len(new_at_risk),
        "new_at_risk_mrr": sum((Decimal(str(row["mrr"] or 0)) for row in new_at_risk), Decimal("0")),
        "new_at_risk": new_at_risk[:NEW_AT_RISK_LIMIT],
        "top_actions": [{"recommended_action": action, **cell} for action, cell in top_actions[:TOP_ACTIONS]],
    }
