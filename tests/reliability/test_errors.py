"""Every failure of issue 8's item 10 ends in one line on stderr with the right exit code: no traceback,
no "unexpected error"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import PROJECT_DIR, Sandbox, new_warehouse

from loaders.common import RetryingSession


def gtm(
    *args: str | bytes, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtm.cli", *args],
        cwd=cwd or PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), **(env or {})},
        capture_output=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "unexpected error" not in lines[0] and "Traceback" not in stderr
    return lines[0]


def test_huge_limit_is_a_usage_error_in_one_line() -> None:
    line = one_line(gtm("at-risk", "--limit", "99999999999999999999"), 2)
    assert "--limit" in line


def test_email_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {"GTM_DUCKDB_PATH": str(tmp_path / "none.duckdb")}
    assert "UTF-8" in one_line(gtm("customer", b"\xff\xfe@example.com", env=env), 1)


def test_sandbox_serve_bad_port_busy_port_and_impossible_anchor() -> None:
    assert "--port" in one_line(gtm("sandbox", "serve", "--port", "99999"), 2)
    assert "2026-02-30" in one_line(gtm("sandbox", "serve", "--anchor", "2026-02-30"), 1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert f"127.0.0.1:{port}" in one_line(gtm("sandbox", "serve", "--port", str(port)), 1)


def test_malformed_database_url_does_not_break_other_errors(tmp_path: Path) -> None:
    env = {
        "GTM_WAREHOUSE": "duckdb",
        "DATABASE_URL": "postgresql://u:p@[::1",
        "GTM_DUCKDB_PATH": str(tmp_path / "x"),
    }
    assert "no warehouse" in one_line(gtm("summary", env=env), 1)
    env["GTM_WAREHOUSE"] = "postgres"
    assert "DATABASE_URL is not a valid URL" in one_line(gtm("summary", env=env), 1)


class NotJson(BaseHTTPRequestHandler):
    requests_seen = 0

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        NotJson.requests_seen += 1
        body = b"<html>proxy error</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_200_answer_that_is_not_json_is_retried_and_named() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotJson)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/contacts"
    try:
        session = RetryingSession(max_attempts=3, sleep=lambda _: None, expect_json=True)
        with pytest.raises(requests.exceptions.InvalidJSONError, match="GET .*/contacts answered 200"):
            session.get(url)
        assert NotJson.requests_seen == 3
    finally:
        server.shutdown()
        server.server_close()


def test_http_timeout_per_source_is_configurable(sandbox: Sandbox, tmp_path: Path, dbt_dirs: Path) -> None:
    """The timeout is the loader's, whatever the warehouse: checked on DuckDB."""
    warehouse, _ = new_warehouse("duckdb", tmp_path, dbt_dirs)
    warehouse.env.update(sandbox.env())
    sandbox.control("POST", "faults", {"path_prefix": "/intercom/", "delay_ms": 4000, "count": 100})
    started = time.monotonic()
    result = warehouse.gtm("sync", env={"SOURCES__INTERCOM__TIMEOUT": "0.5"}, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and "cannot reach" in result.stderr and "Timeout" in result.stderr
    assert elapsed < 60, elapsed  # 5 attempts of 0.5 s and the backoff, not 5 of 60 s
    bad = warehouse.gtm("sync", env={"SOURCES__INTERCOM__TIMEOUT": "soon"}, check=False)
    assert bad.returncode == 1 and "SOURCES__INTERCOM__TIMEOUT" in bad.stderr
    assert warehouse.query("select count(*) as n from ops.sync_log where status = 'failed'")[0]["n"] >= 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: dlt's working files outgrow it during a sync, so writes fail with ENOSPC."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_disk_full_is_one_line_recorded_and_recovers(
    kind: str, sandbox: Sandbox, tmp_path: Path, dbt_dirs: Path, small_disk: Path
) -> None:
    warehouse, database = new_warehouse(kind, tmp_path, dbt_dirs)
    try:
        warehouse.env.update({**sandbox.env(), "GTM_SOURCES": "intercom"})
        full = warehouse.gtm("sync", env={"GTM_PIPELINES_DIR": str(small_disk / "pipelines")}, check=False)
        assert full.returncode == 1, full.stderr
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
        assert "space" in lines[0].lower(), lines[0]
        failed = warehouse.query("select source, error_message from ops.sync_log where status = 'failed'")
        assert [row["source"] for row in failed] == ["intercom"]
        assert "space" in failed[0]["error_message"].lower()

        warehouse.gtm("sync")  # with space again (the default pipelines folder)
        assert warehouse.query("select count(*) as n from raw_intercom.contacts")[0]["n"] > 0
        assert warehouse.query("select status from ops.sync_log order by started_at desc limit 1") == [
            {"status": "success"}
        ]
    finally:
        if database:
            from conftest import _drop_postgres_database

            _drop_postgres_database(database)
