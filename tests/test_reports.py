"""The report marts on DuckDB and PostgreSQL, on a warehouse with three snapshots (AS_OF, a week and a month
before): the row of AS_OF's period reconciles with unified_customers of AS_OF (totals equal), the previous
periods with the stored history, and every report is declared as an exposure."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AS_OF, PROJECT_DIR, WAREHOUSES, Warehouse
from history_warehouse import MONTH_AGO, WEEK_AGO, HistoryWarehouse, history_rows, history_warehouse

REPORTS = [
    "report_weekly_health_summary",
    "report_monthly_mrr",
    "report_quarterly_churn_risk",
    "report_trending_metrics",
]


@pytest.fixture(scope="module", params=WAREHOUSES)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> HistoryWarehouse:
    return history_warehouse(request, tmp_path_factory, dbt_dirs)


def dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The numbers every report restates, computed here from customer rows."""
    statuses: dict[str, int] = defaultdict(int)
    for row in rows:
        statuses[row["health_status"]] += 1
    return {
        "customers": len(rows),
        "paying": sum(1 for r in rows if (r["mrr"] or 0) > 0),
        "mrr": sum((dec(r["mrr"]) for r in rows), Decimal(0)),
        "statuses": dict(statuses),
        "mrr_not_healthy": sum((dec(r["mrr"]) for r in rows if r["health_status"] != "healthy"), Decimal(0)),
    }


def unified(warehouse: Warehouse) -> list[dict[str, Any]]:
    return warehouse.query("select * from marts.unified_customers")


def in_scope(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The health scope the health reports count (metrics.md, Customer stage and scope)."""
    return [row for row in rows if row["is_in_health_scope"] is not False]


def one(warehouse: Warehouse, sql: str) -> dict[str, Any]:
    rows = warehouse.query(sql)
    assert len(rows) == 1, sql
    return rows[0]


def test_weekly_summary_reconciles_with_unified_customers(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    want = totals(in_scope(unified(warehouse)))
    # statuses as stored for T (the history's cap leaves out the trend signals, see customer_health_history)
    want["statuses"] = totals(in_scope(history_rows(warehouse, AS_OF)))["statuses"]
    week = one(warehouse, f"select * from marts.report_weekly_health_summary where snapshot_date = '{AS_OF}'")
    assert (week["total_customers"], week["paying_customers"], dec(week["total_mrr"])) == (
        want["customers"],
        want["paying"],
        want["mrr"],
    )
    for status in ("healthy", "at_risk", "high_risk", "critical"):
        assert week[f"{status}_customers"] == want["statuses"].get(status, 0), status
    assert dec(week["mrr_at_risk"]) == totals(in_scope(history_rows(warehouse, AS_OF)))["mrr_not_healthy"]
    assert week["previous_snapshot_date"] == WEEK_AGO
    trends = warehouse.query("select health_delta_7d from marts.unified_customers where is_in_health_scope")
    assert week["declined_customers"] == sum(1 for t in trends if (t["health_delta_7d"] or 0) <= -5)
    assert week["improved_customers"] == sum(1 for t in trends if (t["health_delta_7d"] or 0) >= 5)


def test_monthly_mrr_reconciles_by_plan_and_status(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    rows = unified(warehouse)
    groups: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        plan = (row["plan_name"] or "").strip() or "Unknown"
        groups[(plan, row["subscription_status"] or "none")] += dec(row["mrr"])
    month = warehouse.query(
        f"select * from marts.report_monthly_mrr where month_start_date = '{AS_OF.replace(day=1)}'"
    )
    present = {(r["plan_name"], r["subscription_status"]): dec(r["mrr"]) for r in month if r["customers"] > 0}
    assert present == dict(groups)
    assert sum(r["customers"] for r in month) == len(rows)
    assert {dec(r["month_total_mrr"]) for r in month} == {totals(rows)["mrr"]}
    # growth against the previous month's latest snapshot (a month ago)
    previous = sum((dec(r["mrr"]) for r in history_rows(warehouse, MONTH_AGO)), Decimal(0))
    assert {dec(r["previous_month_total_mrr"]) for r in month} == {previous}
    assert sum((dec(r["mrr_growth"]) for r in month), Decimal(0)) == totals(rows)["mrr"] - previous


def test_quarterly_churn_risk_reconciles_with_unified_customers(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    rows = in_scope(history_rows(warehouse, AS_OF))
    quarter = one(
        warehouse, f"select * from marts.report_quarterly_churn_risk where snapshot_date = '{AS_OF}'"
    )
    want = totals(rows)
    assert (quarter["total_customers"], dec(quarter["total_mrr"])) == (want["customers"], want["mrr"])
    expected_loss = sum((dec(r["mrr"]) * r["churn_risk"] for r in rows), Decimal(0)) / 100
    assert dec(quarter["expected_churn_mrr"]) == expected_loss.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert quarter["high_churn_risk_customers"] == sum(1 for r in rows if r["churn_risk"] >= 50)
    for status in ("at_risk", "high_risk", "critical"):
        assert quarter[f"{status}_customers"] == want["statuses"].get(status, 0)
        assert dec(quarter[f"{status}_mrr"]) == sum(
            (dec(r["mrr"]) for r in rows if r["health_status"] == status), Decimal(0)
        )


def test_trending_metrics_reconcile_and_movements_add_up(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    series = warehouse.query("select * from marts.report_trending_metrics order by as_of_date")
    assert [r["as_of_date"] for r in series] == [MONTH_AGO, WEEK_AGO, AS_OF]
    for row in series:
        want = totals(history_rows(warehouse, row["as_of_date"]))
        assert (row["total_customers"], row["paying_customers"], dec(row["total_mrr"])) == (
            want["customers"],
            want["paying"],
            want["mrr"],
        )
    latest = series[-1]
    assert dec(latest["total_mrr"]) == totals(unified(warehouse))["mrr"]
    assert latest["previous_as_of_date"] == WEEK_AGO
    assert dec(latest["mrr_growth"]) == dec(latest["total_mrr"]) - dec(series[1]["total_mrr"])
    assert dec(latest["mrr_growth"]) == (
        dec(latest["new_mrr"])
        + dec(latest["expansion_mrr"])
        - dec(latest["contraction_mrr"])
        - dec(latest["churned_mrr"])
    )
    assert series[0]["mrr_growth"] is None and series[0]["churn_rate_pct"] is None


def test_every_report_column_is_described_and_every_report_feeds_an_exposure() -> None:
    models_dir = PROJECT_DIR / "dbt_project" / "models"
    spec = yaml.safe_load((models_dir / "marts" / "reports" / "_reports__models.yml").read_text())
    models = {m["name"]: m for m in spec["models"]}
    assert set(models) == set(REPORTS)
    for name, model in models.items():  # the enforced contracts make these the columns built
        assert model["config"]["contract"]["enforced"] is True
        for column in model["columns"]:
            assert column.get("description") and column.get("data_type"), f"{name}.{column['name']}"
    exposures = yaml.safe_load((models_dir / "exposures.yml").read_text())["exposures"]
    fed = {ref for exposure in exposures for ref in exposure["depends_on"]}
    assert {f"ref('{name}')" for name in REPORTS} <= fed
