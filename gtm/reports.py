"""Reads of the marts for the terminal and for scripts (`gtm summary`, `gtm at-risk`); `gtm customer` is
gtm/customer360.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from gtm.errors import GtmError
from gtm.warehouse import Warehouse

STATUSES = ("healthy", "at_risk", "high_risk", "critical")
STAGES = ("paying", "trialing", "churned", "lead")


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


def account_manager(warehouse: Warehouse, am: str) -> dict[str, Any]:
    """The account manager whose name or email is `am` (case and surrounding spaces do not matter)."""
    _require(warehouse, "am_scorecard")
    wanted = am.strip().lower()
    rows = warehouse.query(
        "select am_owner_id, am_name, am_email from marts.am_scorecard "
        "where lower(am_name) = %s or lower(am_email) = %s order by am_owner_id",
        (wanted, wanted),
    )
    if not rows:
        known = warehouse.query("select am_name from marts.am_scorecard order by am_name")
        names = ", ".join(row["am_name"] for row in known) or "none (is HubSpot synced?)"
        raise GtmError(f"no account manager is named {am.strip()!r} (name or email); known: {names}")
    return rows[0]


def _distribution(row: dict[str, Any], count: str, mrr: str) -> dict[str, dict[str, Any]]:
    return {
        status: {"count": row[count.format(status=status)], "mrr": row[mrr.format(status=status)]}
        for status in STATUSES
    }


def _am_summary(warehouse: Warehouse, am: str) -> dict[str, Any]:
    """The summary of one AM's book, read from marts.am_scorecard (the health scope, like the dashboard)."""
    manager = account_manager(warehouse, am)
    row = warehouse.query(
        "select * from marts.am_scorecard where am_owner_id = %s", (manager["am_owner_id"],)
    )[0]
    return jsonable(
        {
            "as_of_date": row["as_of_date"],
            "account_manager": row["am_name"],
            "account_manager_email": row["am_email"],
            "total_customers": row["customers"],
            "paying_customers": row["paying_customers"],
            "total_mrr": row["mrr"],
            "total_arr": row["arr"],
            "avg_health_score": row["avg_health_score"],
            "health_distribution": _distribution(row, "customers_{status}", "mrr_{status}"),
            "at_risk_count": row["at_risk_count"],
            "critical_count": row["critical_count"],
        }
    )


def summary(warehouse: Warehouse, am: str | None = None) -> dict[str, Any]:
    """The dashboard summary in the shape of the original API's /dashboard/summary response, over the health
    scope, plus customers per stage and the MRR left unconverted per currency; with `am`, of that account
    manager's customers only (plus account_manager and account_manager_email)."""
    if am:
        return _am_summary(warehouse, am)
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
            "unconverted_mrr": row["unconverted_mrr"],
            "avg_health_score": row["avg_health_score"],
            "health_distribution": _distribution(row, "{status}_customers", "{status}_mrr"),
            "at_risk_count": row["at_risk_count"],
            "critical_count": row["critical_count"],
            "all_customers": row["all_customers"],
            "customers_by_stage": {stage: row[f"customers_{stage}"] for stage in STAGES},
        }
    )


AT_RISK_COLUMNS = (
    "risk_rank",
    "email",
    "name",
    "customer_stage",
    "mrr",
    "mrr_native",
    "currency",
    "is_fx_missing",
    "health_score",
    "health_status",
    "health_status_capped_by",
    "churn_risk",
    "risk_signals",
    "exit_state",
    "action_reason",
    "recommended_action",
    "action_owner",
    "action_owner_name",
    "action_due_date",
    "assigned_am",
    "assigned_am_email",
)


def at_risk(warehouse: Warehouse, limit: int | None = None, am: str | None = None) -> list[dict[str, Any]]:
    """At-risk customers, highest MRR first, with what to do about each; with `am`, only the customers of
    that account manager (name or email, case-insensitive)."""
    _require(warehouse, "at_risk_customers")
    where, params_list = "", []
    if am:
        manager = account_manager(warehouse, am)
        where = " where lower(assigned_am_email) = %s"
        params_list.append((manager["am_email"] or "").lower())
    sql = f"select {', '.join(AT_RISK_COLUMNS)} from marts.at_risk_customers{where} order by risk_rank"
    if limit is not None:
        sql += " limit %s"
        params_list.append(limit)
    params = tuple(params_list)
    return [jsonable(row) for row in warehouse.query(sql, params)]


def am_scorecard(warehouse: Warehouse) -> list[dict[str, Any]]:
    """marts.am_scorecard, largest book (MRR) first."""
    _require(warehouse, "am_scorecard")
    return [
        jsonable(row)
        for row in warehouse.query("select * from marts.am_scorecard order by mrr desc, am_name")
    ]
