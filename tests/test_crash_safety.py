"""A sync killed part-way and run again ends with exactly the data of a clean run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import AS_OF, TOKEN, Sandbox, Warehouse, _drop_postgres_database, new_warehouse

RAW_TABLES = (
    "contacts",
    "contacts__custom_attributes__stripe_subscriptions",
    "contacts__custom_attributes__stripe_payments",
    "conversations",
    "conversations__contacts__contacts",
    "quarantine",
)
# dlt's own bookkeeping differs between any two runs; everything else must be identical.
VOLATILE = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id", "quarantined_at")


def raw_data(warehouse: Warehouse) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    data = {}
    for table in RAW_TABLES:
        rows = warehouse.query(f"select * from raw_intercom.{table}")
        data[table] = sorted(
            tuple(sorted((k, str(v)) for k, v in row.items() if k not in VOLATILE)) for row in rows
        )
    return data


def test_killed_sync_then_rerun_equals_clean_run(
    warehouse: Warehouse, tmp_path: Path, dbt_dirs: Path
) -> None:
    box = Sandbox(customers=1500, seed=5, token=TOKEN, anchor=AS_OF)
    clean, clean_db = new_warehouse(warehouse.kind, tmp_path / "clean", dbt_dirs)
    (tmp_path / "clean").mkdir(exist_ok=True)
    try:
        clean.gtm("sync", env=box.env())
        box.control("POST", "faults", {"path_prefix": "/intercom/", "delay_ms": 120, "count": 10_000})
        box.reset_stats()
        process = subprocess.Popen(
            [sys.executable, "-m", "gtm.cli", "sync"],
            cwd=warehouse.workdir,
            env={**os.environ, **warehouse.env, **box.env()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while box.stats()["total"] < 6 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the sync finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        box.control("DELETE", "faults")
        warehouse.gtm("sync", env=box.env())
        assert raw_data(warehouse) == raw_data(clean)
        assert len(raw_data(warehouse)["contacts"]) > 1000
    finally:
        box.close()
        if clean_db:
            _drop_postgres_database(clean_db)
