"""A sync killed at any stage (fetch, normalize, a load job, the commit, a full refresh's swap) and run
again ends with exactly the data of a clean run, on DuckDB and PostgreSQL; a killed --full leaves the old
raw data in place and `gtm build` refuses to publish over it (issue 8, items 2 and 5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AS_OF, PROJECT_DIR, TOKEN, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from test_crash_safety import raw_data

KILL_AT = Path(__file__).with_name("kill_at.py")


def killed(warehouse: Warehouse, stage: str, nth: int, *args: str) -> None:
    """Run `gtm ARGS` and kill it at the ``nth`` call of ``stage``; it must die there."""
    result = subprocess.run(
        [sys.executable, str(KILL_AT), stage, str(nth), *args],
        cwd=warehouse.workdir,
        env={**os.environ, **warehouse.env, "PYTHONPATH": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == -signal.SIGKILL, f"not killed at {stage} {nth}: {result.stderr}"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def clean(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[tuple[Warehouse, Sandbox]]:
    """One sandbox and a warehouse synced from it without faults: what every recovered run must equal."""
    box = Sandbox(customers=150, seed=21, token=TOKEN, anchor=AS_OF)
    warehouse, database = new_warehouse(request.param, tmp_path_factory.mktemp("clean"), dbt_dirs)
    warehouse.env.update(box.env())
    try:
        warehouse.gtm("sync")
        yield warehouse, box
    finally:
        box.close()
        if database:
            _drop_postgres_database(database)


@pytest.fixture
def fresh(clean: tuple[Warehouse, Sandbox], tmp_path: Path, dbt_dirs: Path) -> Iterator[Warehouse]:
    warehouse, database = new_warehouse(clean[0].kind, tmp_path, dbt_dirs)
    warehouse.env.update(clean[1].env())
    yield warehouse
    if database:
        _drop_postgres_database(database)


@pytest.mark.parametrize(
    ("stage", "nth"), [("fetch", 2), ("normalize", 1), ("load", 1), ("load", 3), ("commit", 1)]
)
def test_sync_killed_at_each_stage_then_rerun_equals_clean_run(
    clean: tuple[Warehouse, Sandbox], fresh: Warehouse, stage: str, nth: int
) -> None:
    killed(fresh, stage, nth, "sync")
    rerun = fresh.gtm("sync")
    assert raw_data(fresh) == raw_data(clean[0])
    # the killed run is in the sync log as failed, and the rerun says what it loaded
    log = fresh.query("select status, error_message from ops.sync_log order by started_at")
    assert [row["status"] for row in log] == ["failed", "success"]
    assert log[0]["error_message"].startswith("interrupted")
    # the rerun reports what it loaded (after the commit, the data had reached the warehouse already)
    assert ("nothing new" in rerun.stderr) == (stage == "commit"), rerun.stderr


def test_a_sync_normalized_in_two_processes_loads_what_one_process_loads(
    clean: tuple[Warehouse, Sandbox], fresh: Warehouse
) -> None:
    """A large sync normalizes in two processes (gtm.sync.normalize_processes); dlt's own setting forces
    it for this small one."""
    synced = fresh.gtm("sync", env={"NORMALIZE__WORKERS": "2"})
    assert raw_data(fresh) == raw_data(clean[0])
    assert "nothing new" not in synced.stderr


@pytest.mark.parametrize(("stage", "nth"), [("fetch", 3), ("load", 2), ("swap", 1)])
def test_killed_full_refresh_keeps_the_old_data_and_blocks_the_build(
    clean: tuple[Warehouse, Sandbox], fresh: Warehouse, stage: str, nth: int
) -> None:
    fresh.gtm("sync")
    before = raw_data(fresh)
    killed(fresh, stage, nth, "sync", "--full")
    assert raw_data(fresh) == before  # nothing dropped before the new load completed
    refused = fresh.gtm("build", check=False)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.count("\n") == 1 and "did not complete" in refused.stderr
    assert "--full" in refused.stderr
    assert not fresh.query(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    )  # nothing published
    fresh.gtm("sync", "--full")
    assert raw_data(fresh) == raw_data(clean[0])
    fresh.gtm("sync")  # the incremental state came back with the swapped-in dataset
    assert raw_data(fresh) == raw_data(clean[0])
