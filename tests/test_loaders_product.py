"""The Userflow, Fathom and product-database loaders: pure helpers, and each loader against the sandbox over
real HTTP (or a real SQLite file) into DuckDB: what lands, requests at the minimum, Fathom's rate limit,
transcripts only on request, quarantine, and the mapping's errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pytest
from conftest import AS_OF, TOKEN, Sandbox

from loaders.admin import admin_source
from loaders.admin.helpers import key_scan_due, renamer, resolve_mapping
from loaders.common import RetryingSession
from loaders.fathom import fathom_source
from loaders.fathom.helpers import created_after, typed_meeting
from loaders.userflow import userflow_source
from loaders.userflow.helpers import typed_session
from sandbox.product_db import sqlite_url


def test_mapping_overrides_and_errors() -> None:
    mapping = resolve_mapping({"logins": {"table": "sign_ins", "columns": {"logged_in_at": "signed_in_at"}}})
    assert mapping["logins"]["table"] == "sign_ins"
    assert mapping["logins"]["columns"]["logged_in_at"] == "signed_in_at"
    assert mapping["logins"]["columns"]["user_id"] == "user_id"  # not listed: the default
    assert mapping["users"]["table"] == "users"
    with pytest.raises(ValueError, match="unknown product table role 'sessions'"):
        resolve_mapping({"sessions": {"table": "x"}})
    with pytest.raises(ValueError, match="unknown column 'when' for product table role 'logins'"):
        resolve_mapping({"logins": {"columns": {"when": "x"}}})


def test_renamer_handles_arrow_tables_and_rows() -> None:
    rename = renamer({"committed_at": "created_at", "login_id": "id"})
    table = rename(pa.table({"id": [1], "created_at": [2], "other": [3]}))
    assert table.column_names == ["login_id", "committed_at", "other"]
    assert rename({"id": 1, "created_at": 2}) == {"login_id": 1, "committed_at": 2}
    assert rename([{"id": 1}, {"id": 2}]) == [{"login_id": 1}, {"login_id": 2}]


def test_key_scan_timing_and_fathom_window() -> None:
    assert key_scan_due(None, 1000.0, 24) and key_scan_due(0.0, 1000.0, 0)
    assert not key_scan_due(1000.0, 1000.0 + 23 * 3600, 24) and key_scan_due(1000.0, 1000.0 + 24 * 3600, 24)
    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert created_after(None, now, 365, 14) == now - timedelta(days=365)
    assert created_after("2026-11-19T10:00:00Z", now, 365, 14) == now - timedelta(days=14)
    assert created_after("2026-10-01T10:00:00Z", now, 365, 14) == datetime(
        2026, 10, 1, 9, tzinfo=timezone.utc
    )


def test_record_checks() -> None:
    session = {"id": "s", "user_id": "u", "progress": "0.4", "created_at": "2026-01-01T00:00:00.000Z"}
    assert typed_session(session)[0]["progress"] == Decimal("0.4")
    assert typed_session({**session, "progress": "1.5"})[1] == "progress is outside 0..1: 1.5"
    assert "not a number" in typed_session({**session, "progress": "lots"})[1]
    assert "bad timestamp" in typed_meeting({"recording_id": 1, "created_at": "2024-13-45T10:00:00Z"})[1]
    assert typed_meeting({"recording_id": 1, "created_at": "2026-01-01T00:00:00Z"})[1] == (
        "calendar_invitees is not a list"
    )


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF)
    yield sandbox
    sandbox.close()


def run(source: Any, name: str, workdir: Path) -> tuple[dlt.Pipeline, dict[str, int]]:
    pipeline = dlt.pipeline(
        pipeline_name=f"test_{name}",
        destination=dlt.destinations.duckdb(str(workdir / "raw.duckdb")),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(workdir / "pipelines"),
    )
    pipeline.run(source)
    return pipeline, dict(pipeline.last_trace.last_normalize_info.row_counts)


def query(workdir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(workdir / "raw.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_userflow_lists_everything_at_100_per_page(box: Sandbox, tmp_path: Path) -> None:
    api = box.server.vendors["userflow"]
    users, sessions = len(api.lists["users"]), len(api.lists["content_sessions"])
    session = RetryingSession()
    _, counts = run(userflow_source(TOKEN, f"{box.url}/userflow", session=session), "userflow", tmp_path)
    assert counts["users"] == users and counts["content_sessions"] == sessions
    assert session.requests_made == math.ceil(users / 100) + math.ceil(sessions / 100)
    emails = {row[0] for row in query(tmp_path, "select attributes__email from raw_userflow.users")}
    assert emails == {u["attributes"]["email"] for u in api.lists["users"]}
    checklist = query(
        tmp_path,
        "select count(*) from raw_userflow.content_sessions"
        " where content__type = 'checklist' and progress < 1",
    )[0][0]
    assert checklist > 0


def test_userflow_rejects_a_wrong_key(box: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="401"):
        run(userflow_source("wrong", f"{box.url}/userflow"), "userflow", tmp_path)


def test_fathom_waits_out_429s_and_loads_summaries_not_transcripts(box: Sandbox, tmp_path: Path) -> None:
    api = box.server.vendors["fathom"]
    box.control("POST", "faults", {"path_prefix": "/fathom/", "status": 429, "count": 2, "retry_after": 1})
    session = RetryingSession()
    _, counts = run(
        fathom_source(TOKEN, f"{box.url}/fathom", initial_days=3650, session=session), "fathom", tmp_path
    )
    meetings = len(api.meetings)
    pages = math.ceil(meetings / 10)
    assert counts["meetings"] == meetings - 1 and counts["quarantine"] == 1  # slot 95's created_at
    assert box.stats()["statuses"]["429"] == 2  # waited for Retry-After, then went on
    assert (
        box.stats()["requests"]["GET /fathom/external/v1/meetings"] - box.stats()["statuses"]["429"] == pages
    )
    assert "meetings__transcript" not in counts
    summaries = query(
        tmp_path,
        "select count(*) from raw_fathom.meetings where default_summary__markdown_formatted is not null",
    )
    assert summaries[0][0] == meetings - 1
    external = query(
        tmp_path, "select count(*) from raw_fathom.meetings__calendar_invitees where is_external"
    )[0][0]
    assert external == meetings - 1


def test_fathom_transcripts_only_when_configured(box: Sandbox, tmp_path: Path) -> None:
    _, counts = run(
        fathom_source(TOKEN, f"{box.url}/fathom", transcripts=True, initial_days=3650), "fathom", tmp_path
    )
    assert counts["meetings__transcript"] == 2 * counts["meetings"]


def test_admin_source_loads_each_role_and_names_a_missing_file(box: Sandbox, tmp_path: Path) -> None:
    url = sqlite_url(str(tmp_path / "product.sqlite"))
    written = box.server.product_db.write(url)
    _, counts = run(admin_source(credentials=url), "admin", tmp_path)
    for table, rows in written.items():
        assert counts[table] == rows and counts[f"{table}__keys"] == rows
    columns = {row[0] for row in query(tmp_path, "describe raw_admin.logins")}
    assert {"login_id", "user_id", "logged_in_at", "committed_at", "_dlt_load_id"} <= columns
    # the second sync re-reads only the lag window and skips the key scan (not due for 24 hours)
    _, again = run(admin_source(credentials=url), "admin", tmp_path)
    assert not any(table.endswith("__keys") for table in again)
    assert 0 < again.get("logins", 0) < written["logins"] / 10
    with pytest.raises(ValueError, match="no SQLite database at"):
        admin_source(credentials=sqlite_url(str(tmp_path / "missing.sqlite")))


def test_fathom_second_sync_reads_only_the_recheck_window(box: Sandbox, tmp_path: Path) -> None:
    run(fathom_source(TOKEN, f"{box.url}/fathom", initial_days=3650), "fathom", tmp_path)
    booked = box.control(
        "POST",
        "fathom/meetings",
        {"email": "new.customer@example.com", "name": "New Customer", "start_time": "2026-11-19T10:00:00Z"},
    )
    box.reset_stats()
    session = RetryingSession()
    _, counts = run(
        fathom_source(TOKEN, f"{box.url}/fathom", initial_days=3650, recheck_days=14, session=session),
        "fathom",
        tmp_path,
    )
    since = datetime.now(timezone.utc) - timedelta(days=14)
    recent = [m for m in box.server.vendors["fathom"].all_meetings() if m["_sort"] >= since.timestamp() - 60]
    assert session.requests_made == math.ceil(len(recent) / 10)
    assert counts["meetings"] == len([m for m in recent if not m["created_at"].startswith("2024-13")])
    ids = {row[0] for row in query(tmp_path, "select recording_id from raw_fathom.meetings")}
    assert booked["recording_id"] in ids
