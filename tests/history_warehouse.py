"""One warehouse of each kind with health history, shared by test_customer360.py and test_reports.py: a
sandbox company synced, built for AS_OF, then `gtm backfill` for AS_OF - 30 and AS_OF - 7 days (which ends
with a rebuild for AS_OF). Built once per session and kind; the tests only read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, TOKEN, Sandbox, Warehouse, _drop_postgres_database, new_warehouse

WEEK_AGO = AS_OF - timedelta(days=7)
MONTH_AGO = AS_OF - timedelta(days=30)


@dataclass
class HistoryWarehouse:
    warehouse: Warehouse
    # customer_health_history rows of AS_OF as the first build stored them, before the backfill rebuilt AS_OF
    history_before_backfill: list[dict[str, Any]]


_BUILT: dict[str, HistoryWarehouse] = {}


def history_rows(warehouse: Warehouse, as_of: date) -> list[dict[str, Any]]:
    return warehouse.query(
        f"select * from marts.customer_health_history where as_of_date = '{as_of}' order by email_key"
    )


def history_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> HistoryWarehouse:
    """The shared warehouse of kind request.param, built on first use, dropped when the session ends."""
    kind = request.param
    if kind not in _BUILT:
        box = Sandbox(customers=300, seed=7, token=TOKEN, anchor=AS_OF)
        warehouse, database = new_warehouse(kind, tmp_path_factory.mktemp(f"history-{kind}"), dbt_dirs)
        if database:
            request.config.add_cleanup(lambda: _drop_postgres_database(database))
        try:
            warehouse.env.update(box.env())
            warehouse.gtm("sync")
        finally:
            box.close()
        warehouse.gtm("build")
        before = history_rows(warehouse, AS_OF)
        step = str((WEEK_AGO - MONTH_AGO).days)
        warehouse.gtm(
            "backfill", "--from", MONTH_AGO.isoformat(), "--to", WEEK_AGO.isoformat(), "--step", step
        )
        _BUILT[kind] = HistoryWarehouse(warehouse, before)
    return _BUILT[kind]
