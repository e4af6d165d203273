"""Expected failures end in one clear line on stderr, a non-zero exit, no traceback and no secret."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from conftest import TOKEN, Sandbox, Warehouse


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("gtm: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_wrong_token_is_named_and_never_printed(warehouse: Warehouse, sandbox: Sandbox) -> None:
    wrong = "canary-wrong-9f8e7d6c5b4a"
    result = warehouse.gtm("sync", env=sandbox.env(token=wrong), check=False)
    assert_one_line_error(result, "intercom", "rejected the access token", "SOURCES__INTERCOM__ACCESS_TOKEN")
    assert wrong not in result.stdout + result.stderr
    logged = warehouse.query("select status, error_message from ops.sync_log")
    assert logged and logged[0]["status"] == "failed" and wrong not in logged[0]["error_message"]


def test_unreachable_api(warehouse: Warehouse) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "SOURCES__INTERCOM__BASE_URL": f"http://127.0.0.1:{port}/intercom",
        "SOURCES__INTERCOM__ACCESS_TOKEN": TOKEN,
    }
    result = warehouse.gtm("sync", env=env, check=False)
    assert_one_line_error(result, "intercom", "cannot reach", f"127.0.0.1:{port}")


def test_missing_database_url(tmp_path) -> None:
    warehouse = Warehouse("postgres", {"GTM_WAREHOUSE": "postgres", "DATABASE_URL": ""}, tmp_path)
    result = warehouse.gtm("build", check=False)
    assert_one_line_error(result, "DATABASE_URL is not set")


def test_no_source_configured(tmp_path) -> None:
    env = {
        "GTM_WAREHOUSE": "duckdb",
        "GTM_DUCKDB_PATH": str(tmp_path / "w.duckdb"),
        "SOURCES__INTERCOM__ACCESS_TOKEN": "",
    }
    result = Warehouse("duckdb", env, tmp_path).gtm("sync", check=False)
    assert_one_line_error(result, "no source is configured")


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_locked_duckdb_file(warehouse: Warehouse, sandbox: Sandbox) -> None:
    path = warehouse.env["GTM_DUCKDB_PATH"]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({path!r}); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = warehouse.gtm("sync", env=sandbox.env(), check=False)
        assert_one_line_error(result, "locked by another process")
        result = warehouse.gtm("build", check=False)
        assert_one_line_error(result, "locked by another process")
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    warehouse.gtm("sync", env=sandbox.env())  # and works once the other process is gone
