"""One run at a time per warehouse: a second sync or build waits (--wait) or exits 1 naming the holder,
and the lock of a killed process is taken over (issue 8, item 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import PROJECT_DIR, Sandbox, Warehouse

HOLD = """
import sys, time
from gtm.lock import run_lock
from gtm.settings import Settings
with run_lock(Settings.from_env(), "sync"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def hold_lock(warehouse: Warehouse, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the warehouse's run lock for ``seconds``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(seconds)],
        cwd=warehouse.workdir,
        env={**os.environ, **warehouse.env, "PYTHONPATH": str(PROJECT_DIR)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_second_run_exits_1_with_one_line_naming_the_holder(warehouse: Warehouse) -> None:
    holder = hold_lock(warehouse, 60)
    try:
        backfill = ["backfill", "--from", "2026-11-01", "--to", "2026-11-02"]
        for command in (["sync"], ["build"], ["run"], backfill):
            started = time.monotonic()
            result = warehouse.gtm(*command, check=False)
            assert result.returncode == 1, result.stderr
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert f"gtm sync (pid {holder.pid} on " in lines[0] and "since 20" in lines[0], lines[0]
            assert time.monotonic() - started < 30
        from gtm.lock import lock_holder
        from gtm.settings import Settings

        os.environ.update(warehouse.env)
        try:
            assert (lock_holder(Settings.from_env()) or {}).get("pid") == holder.pid
        finally:
            for key in warehouse.env:
                os.environ.pop(key, None)
    finally:
        holder.kill()
        holder.wait()


def test_wait_takes_the_lock_when_the_holder_finishes(warehouse: Warehouse) -> None:
    holder = hold_lock(warehouse, 2)
    try:
        result = warehouse.gtm("sync", "--wait", "60", check=False)
        # the lock was taken: the sync itself ran and complained there was nothing to sync
        assert "holds the warehouse lock" not in result.stderr, result.stderr
        assert "no source is configured" in result.stderr, result.stderr
    finally:
        holder.wait()


def test_lock_of_a_killed_process_is_taken_over(warehouse: Warehouse) -> None:
    holder = hold_lock(warehouse, 600)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    result = warehouse.gtm("sync", check=False)
    assert "holds the warehouse lock" not in result.stderr, result.stderr
    assert "no source is configured" in result.stderr


def test_overlapping_syncs_leave_every_source_loadable(warehouse: Warehouse, sandbox: Sandbox) -> None:
    """`gtm sync & sleep 0.3; gtm sync; wait; gtm sync`: the second exits 1 at once, nothing breaks."""
    warehouse.env.update(sandbox.env())
    first = subprocess.Popen(
        [sys.executable, "-m", "gtm.cli", "sync"],
        cwd=warehouse.workdir,
        env={**os.environ, **warehouse.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)
    second = warehouse.gtm("sync", check=False)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    assert second.returncode == 1 and "holds the warehouse lock: gtm sync" in second.stderr, second.stderr
    warehouse.gtm("sync")
    loaded = warehouse.query("select count(distinct id) as n from raw_intercom.contacts")[0]["n"]
    quarantined = warehouse.query(
        "select count(distinct record_id) as n from raw_intercom.quarantine where entity = 'contacts'"
    )[0]["n"]
    assert loaded + quarantined == sandbox.company.contact_count
