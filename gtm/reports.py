"""Reads of the marts for the terminal and for scripts (`gtm summary`, `gtm at-risk`, `gtm customer`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gtm.errors import GtmError
from gtm.warehouse import Warehouse

STATUSES = ("healthy", "at_risk", "high_risk", "critical")


def jsonable(value: Any) -> Any:
    """Warehouse values as JSON values: decimals as numbers, dates as ISO strings."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


def _require(warehouse: Warehouse, table: str) -> None:
    if not warehouse.table_exists("marts", table):
        raise GtmError(f"marts.{table} does not exist yet: run `gtm build` (or `make demo`) first")


def summary(warehouse: Warehouse) -> dict[str, Any]:
    """The dashboard summary in the shape of the original API's /dashboard/summary response."""
    _require(warehouse, "dashboard_summary")
    rows = warehouse.query("select * from marts.dashboard_summary")
    if not rows:
        raise GtmError("marts.dashboard_summary is empty: run `gtm build`")
    row = rows[0]
    return jsonable(
        {
            "as_of_date": row["as_of_date"],
            "total_customers": row["total_customers"],
            "paying_customers": row["paying_customers"],
            "total_mrr": row["total_mrr"],
            "total_arr": row["total_arr"],
            "avg_health_score": row["avg_health_score"],
            "health_distribution": {
                status: {"count": row[f"{status}_customers"], "mrr": row[f"{status}_mrr"]}
                for status in STATUSES
            },
            "at_risk_count": row["at_risk_count"],
            "critical_count": row["critical_count"],
        }
    )


AT_RISK_COLUMNS = (
    "risk_rank",
    "email",
    "name",
    "mrr",
    "health_score",
    "health_status",
    "churn_risk",
    "risk_signals",
    "recommended_action",
)


def at_risk(warehouse: Warehouse, limit: int | None = None) -> list[dict[str, Any]]:
    """At-risk customers, highest MRR first, with what to do about each."""
    _require(warehouse, "at_risk_customers")
    sql = f"select {', '.join(AT_RISK_COLUMNS)} from marts.at_risk_customers order by risk_rank"
    params: tuple[Any, ...] = ()
    if limit is not None:
        sql += " limit %s"
        params = (limit,)
    return [jsonable(row) for row in warehouse.query(sql, params)]


def customer(warehouse: Warehouse, email: str) -> dict[str, Any] | None:
    """Every column of one customer's unified record, with its risk signals; None when unknown."""
    _require(warehouse, "unified_customers")
    email_key = email.strip().lower()
    rows = warehouse.query("select * from marts.unified_customers where email_key = %s", (email_key,))
    if not rows:
        return None
    signals = warehouse.query(
        "select signal, severity, detail, recommended_action, action_owner from marts.customer_risk_signals "
        "where email_key = %s order by signal",
        (email_key,),
    )
    return jsonable({**rows[0], "signals": signals})
