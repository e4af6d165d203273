"""`gtm sync`: run the dlt loaders of the enabled sources into the warehouse's raw_<source> datasets."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import dlt
import requests
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.destinations.impl.postgres.configuration import PostgresCredentials

from gtm.errors import GtmError, redact
from gtm.settings import PROJECT_DIR, Settings
from gtm.warehouse import connect, duckdb_lock_error
from loaders import SOURCES
from loaders.common import RetryingSession

os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_DIR))
# dlt's schema warnings (columns with no data yet) are for loader authors, not for people running syncs.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
logging.getLogger("dlt").setLevel(logging.ERROR)

# DuckDB parses insert-values files slowly and with a lot of memory; it bulk-reads JSON lines instead.
LOADER_FORMAT = {"duckdb": "jsonl"}

SYNC_LOG_DDL = """
create table if not exists ops.sync_log (
    run_id varchar(64) not null,
    source varchar(64) not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    status varchar(16) not null,
    full_refresh boolean not null,
    rows_loaded bigint not null,
    requests bigint not null,
    error_message text
)
"""


@dataclass
class SourceResult:
    source: str
    status: str  # success | failed | skipped
    rows_loaded: int = 0
    requests: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def configured(name: str) -> bool:
    """A source is configured when its secret (an access token, or the product database's credentials)
    resolves (environment or .dlt/secrets.toml)."""
    try:
        return bool(dlt.secrets.get(f"sources.{name}.{SOURCES[name].secret}"))
    except ConfigFieldMissingException:
        return False


def selected_sources(names: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The sources to sync: --source options, else GTM_SOURCES, else every known source."""
    chosen = list(names) or [s.strip() for s in os.environ.get("GTM_SOURCES", "").split(",") if s.strip()]
    unknown = [name for name in chosen if name not in SOURCES]
    if unknown:
        raise GtmError(f"unknown source {unknown[0]!r}; known sources: {', '.join(SOURCES)}")
    return chosen or list(SOURCES)


def destination(settings: Settings) -> Any:
    if settings.warehouse == "duckdb":
        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(settings.duckdb_path))
    credentials = PostgresCredentials()
    credentials.parse_native_representation(settings.database_url)
    if credentials.password is None:
        credentials.password = ""  # trust/peer auth: dlt otherwise insists on a password
    credentials.resolve()
    return dlt.destinations.postgres(credentials=credentials)


def pipeline_for(name: str, settings: Settings) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"gtm_{name}",
        destination=destination(settings),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(settings.pipelines_dir),
    )


class Progress:
    """Every ``period`` seconds while a source syncs, one line on stderr with the requests made so far."""

    def __init__(self, name: str, session: RetryingSession, period: float | None = 10.0) -> None:
        self.name, self.session, self.period = name, session, period
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.period or 0):
            elapsed = time.monotonic() - self.started
            print(
                f"{self.name}: {self.session.requests_made:,} requests, {elapsed:,.0f}s ...", file=sys.stderr
            )

    def __enter__(self) -> Progress:
        if self.period is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def describe_failure(name: str, exc: BaseException, session: RetryingSession) -> str:
    """One line that says what went wrong with a source and what to do about it."""
    causes = []
    current: BaseException | None = exc
    while current is not None and current not in causes:
        causes.append(current)
        current = current.__cause__ or current.__context__
    for cause in causes:
        if isinstance(cause, requests.HTTPError) and cause.response is not None:
            response = cause.response
            if response.status_code in (401, 403):
                return (
                    f"{name}: the API rejected the access token ({response.status_code} {response.reason}); "
                    f"check SOURCES__{name.upper()}__ACCESS_TOKEN"
                )
            return (
                f"{name}: the API answered {response.status_code} {response.reason} for "
                f"{response.request.method} {response.url} after {session.max_attempts} attempts"
            )
        if isinstance(cause, requests.ConnectionError | requests.Timeout):
            request = getattr(cause, "request", None)
            where = request.url if request is not None else "the API"
            return (
                f"{name}: cannot reach {where} after {session.max_attempts} attempts ({type(cause).__name__})"
            )
        if type(cause).__name__ == "IOException" and "lock" in str(cause).lower():
            return str(duckdb_lock_error("the DuckDB warehouse", cause))
    root = causes[-1]
    first_line = (str(root).strip().splitlines() or [""])[0]
    return f"{name}: sync failed: {type(root).__name__}: {first_line}"


def sync_source(name: str, settings: Settings, full: bool = False, progress: bool = False) -> SourceResult:
    """Load one source; never raises for the source's own failures (they come back in the result)."""
    started = time.monotonic()
    session = RetryingSession()
    try:
        spec = SOURCES[name]
        source = spec.load()(session=session) if spec.http else spec.load()()
        pipeline = pipeline_for(name, settings)
        with Progress(name, session, period=10.0 if progress else None):
            pipeline.run(
                source,
                refresh="drop_sources" if full else None,
                loader_file_format=LOADER_FORMAT.get(settings.warehouse),
            )
    except Exception as exc:  # noqa: BLE001 - every failure becomes a one-line report
        return SourceResult(
            name,
            "failed",
            requests=session.requests_made,
            seconds=time.monotonic() - started,
            error=redact(describe_failure(name, exc, session)),
        )
    trace = pipeline.last_trace
    counts = dict(trace.last_normalize_info.row_counts) if trace and trace.last_normalize_info else {}
    tables = {table: rows for table, rows in counts.items() if not table.startswith("_dlt")}
    return SourceResult(
        name,
        "success",
        rows_loaded=sum(tables.values()),
        requests=session.requests_made,
        seconds=time.monotonic() - started,
        tables=tables,
    )


def record_runs(
    settings: Settings, run_id: str, started_at: datetime, full: bool, results: list[SourceResult]
) -> None:
    """Append this run's outcome per source to ops.sync_log (read by freshness checks and alerts)."""
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with connect(settings) as warehouse:
        warehouse.execute("create schema if not exists ops")
        warehouse.execute(SYNC_LOG_DDL)
        for result in results:
            warehouse.execute(
                "insert into ops.sync_log values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    run_id,
                    result.source,
                    started_at.replace(tzinfo=None),
                    finished_at,
                    result.status,
                    full,
                    result.rows_loaded,
                    result.requests,
                    result.error,
                ),
            )


def run_sync(
    settings: Settings, names: tuple[str, ...] | list[str] = (), full: bool = False, progress: bool = False
) -> list[SourceResult]:
    """Sync the selected sources one after another; a failing source does not stop the others."""
    run_id = uuid.uuid4().hex
    started_at = datetime.now(timezone.utc)
    explicit = bool(names) or bool(os.environ.get("GTM_SOURCES", "").strip())
    results = []
    for name in selected_sources(names):
        if not configured(name):
            secret = SOURCES[name].secret
            reason = f"no {secret.replace('_', ' ')} (set SOURCES__{name.upper()}__{secret.upper()})"
            results.append(SourceResult(name, "failed" if explicit else "skipped", error=reason))
            continue
        results.append(sync_source(name, settings, full=full, progress=progress))
    record_runs(settings, run_id, started_at, full, [r for r in results if r.status != "skipped"])
    return results
