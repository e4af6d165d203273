"""`gtm sync`: run the dlt loaders of the enabled sources into the warehouse's raw_<source> datasets."""

from __future__ import annotations

import logging
import os
import shutil
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
from gtm.privacy import forgotten_hashes, mentions_forgotten
from gtm.settings import PROJECT_DIR, Settings
from gtm.warehouse import connect, duckdb_lock_error
from loaders import SOURCES
from loaders.common import RetryingSession

os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_DIR))
# dlt's schema warnings (columns with no data yet) are for loader authors, not for people running syncs.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
logging.getLogger("dlt").setLevel(logging.ERROR)

# DuckDB parses insert-values files slowly and with a lot of memory; it bulk-reads Parquet (typed, columnar):
# the load step of a 10,000-customer Intercom sync took 1.3 s from Parquet, 2.0-2.3 s from JSON lines.
LOADER_FORMAT = {"duckdb": "parquet"}
# dlt's normalizer (nested objects into child tables, every row coerced) is pure Python. A source that
# extracted at least this many records normalizes in NORMALIZE_PROCESSES processes (dlt forks them and shares
# out the extracted files); a smaller one in this process, for the pool costs about 0.3 s a source
# (docs/benchmarks.md, "Loader CPU, once more"). dlt's own [normalize] workers, when set, wins.
PARALLEL_NORMALIZE_RECORDS = 20_000
NORMALIZE_PROCESSES = 2
DEFAULT_TIMEOUT = 60.0

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
    params = settings.postgres
    credentials = PostgresCredentials()
    credentials.parse_native_representation(settings.database_url)
    # the decoded values, exactly as psycopg2 and dbt get them (an empty password: trust/peer auth)
    credentials.host, credentials.port = params["host"], params["port"]
    credentials.username, credentials.password = params["user"], params["password"]
    credentials.database = params["dbname"]
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
        if isinstance(cause, requests.exceptions.InvalidJSONError) and cause.request is not None:
            return f"{name}: {cause}"
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


def forgotten(settings: Settings) -> frozenset[str]:
    """The hashes of ops.forgotten (people erased by `gtm forget`); empty on a new warehouse."""
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return frozenset()
    with connect(settings, read_only=True) as warehouse:
        return forgotten_hashes(warehouse)


def run_pipeline(pipeline: dlt.Pipeline, source: Any, settings: Settings) -> dict[str, int]:
    """What ``pipeline.run`` does, a step at a time: restore the state from the warehouse, extract, normalize
    (in as many processes as normalize_processes says), load. Returns the rows loaded per table."""
    if pipeline.config.restore_from_destination:
        pipeline.sync_destination()
    extracted = pipeline.extract(source, loader_file_format=LOADER_FORMAT.get(settings.warehouse))
    normalized = pipeline.normalize(workers=normalize_processes(extracted))
    pipeline.load()
    rows = normalized.row_counts if normalized else {}
    return {table: count for table, count in rows.items() if not table.startswith("_dlt")}


def normalize_processes(extracted: Any) -> int:
    """Processes for dlt's normalizer: [normalize] workers when configured, else NORMALIZE_PROCESSES when
    the sync extracted PARALLEL_NORMALIZE_RECORDS records or more for dlt's per-row normalizer (its
    typed-jsonl files, counted from dlt's ExtractInfo), else one. Arrow tables (the product database) are
    not counted: their normalizer only rewrites Parquet files, which a second process made slower."""
    configured = dlt.config.get("normalize.workers")
    if configured not in (None, ""):
        return max(1, int(configured))
    records = sum(
        writer.items_count
        for step in extracted.metrics.values()
        for metrics in step
        for job, writer in metrics["job_metrics"].items()
        if job.endswith(".typed-jsonl") and not job.startswith("_dlt")  # not the pipeline's state
    )
    return NORMALIZE_PROCESSES if records >= PARALLEL_NORMALIZE_RECORDS else 1


def source_timeout(name: str) -> float:
    """Seconds one HTTP request of a source may take (SOURCES__<NAME>__TIMEOUT, default 60)."""
    value = dlt.config.get(f"sources.{name}.timeout")
    if value in (None, ""):
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0:
        raise GtmError(f"SOURCES__{name.upper()}__TIMEOUT={value!r} is not a positive number of seconds")
    return seconds


def incremental_pipeline(name: str, settings: Settings) -> dlt.Pipeline:
    """The source's pipeline. Packages left by a killed run are dropped with the local state: dlt would
    replay jobs that may have committed already (duplicate keys on PostgreSQL), while the state kept in the
    warehouse is that of the last complete load, so a fresh extract from it loads exactly what is missing."""
    pipeline = pipeline_for(name, settings)
    if pipeline.has_pending_data:
        pipeline.drop()
        pipeline = pipeline_for(name, settings)
    return pipeline


def full_refresh(name: str, settings: Settings, source: Any) -> dict[str, int]:
    """Load everything into a new dataset raw_<name>_full, then swap it for raw_<name> in one transaction:
    the old raw data stays until the new load has completed, whatever a killed run left behind. Returns
    the rows loaded per table."""
    full_dir = settings.pipelines_dir / "full"
    shutil.rmtree(full_dir / f"gtm_{name}", ignore_errors=True)
    drop_datasets(settings, [f"raw_{name}_full", f"raw_{name}_full_staging"])
    pipeline = dlt.pipeline(
        pipeline_name=f"gtm_{name}",  # the state restored later from raw_<name> is looked up by this name
        destination=destination(settings),
        dataset_name=f"raw_{name}_full",
        pipelines_dir=str(full_dir),
    )
    tables = run_pipeline(pipeline, source, settings)
    # the incremental pipeline's local state describes the old data: dropped first, restored from the
    # warehouse (the swapped-in dataset) on the next sync
    pipeline_for(name, settings).drop()
    swap_dataset(settings, f"raw_{name}_full", f"raw_{name}")
    drop_datasets(settings, [f"raw_{name}_full_staging", f"raw_{name}_staging"])
    return tables


def drop_datasets(settings: Settings, schemas: list[str]) -> None:
    with connect(settings) as warehouse:
        for schema in schemas:
            warehouse.execute(f'drop schema if exists "{schema}" cascade')


def swap_dataset(settings: Settings, new: str, old: str) -> None:
    """Replace schema ``old`` by ``new`` atomically. PostgreSQL renames (keeping keys and indexes); DuckDB,
    which cannot move tables between schemas, copies inside one transaction."""
    listed = "select table_name from information_schema.tables where table_schema = %s"
    with connect(settings) as warehouse:
        tables = [row["table_name"] for row in warehouse.query(listed, (new,))]
        if not tables:
            raise GtmError(f"the full refresh loaded nothing into {new}; {old} is left as it was")
        if settings.warehouse == "postgres":  # one transaction, committed when the block ends
            warehouse.execute(f'drop schema if exists "{old}" cascade')
            warehouse.execute(f'alter schema "{new}" rename to "{old}"')
            return
        warehouse.execute("begin transaction")
        try:
            warehouse.execute(f'create schema if not exists "{old}"')
            for row in warehouse.query(listed, (old,)):
                warehouse.execute(f'drop table "{old}"."{row["table_name"]}" cascade')
            for table in tables:
                warehouse.execute(f'create table "{old}"."{table}" as select * from "{new}"."{table}"')
            warehouse.execute(f'drop schema "{new}" cascade')
        except BaseException:
            warehouse.execute("rollback")
            raise
        # committed by connect() as the block ends


def drop_traces(name: str, settings: Settings) -> None:
    """dlt pickles each run's resolved configuration and errors to trace.pickle: a base URL with a password
    in it, a token in an error. ops.sync_log is the record of runs, so the file is not kept."""
    for directory in (settings.pipelines_dir, settings.pipelines_dir / "full"):
        (directory / f"gtm_{name}" / "trace.pickle").unlink(missing_ok=True)


def sync_source(
    name: str,
    settings: Settings,
    full: bool = False,
    progress: bool = False,
    skip: frozenset[str] = frozenset(),
) -> SourceResult:
    """Load one source, without the records naming a person in `skip` (hashes of ops.forgotten); never
    raises for the source's own failures (they come back in the result)."""
    started = time.monotonic()
    session = RetryingSession(timeout=source_timeout(name), expect_json=True)
    try:
        spec = SOURCES[name]
        source = spec.load()(session=session) if spec.http else spec.load()()
        if skip:
            for resource in source.resources.values():
                resource.add_filter(lambda item: not mentions_forgotten(item, skip))
        with Progress(name, session, period=10.0 if progress else None):
            if full:
                tables = full_refresh(name, settings, source)
            else:
                tables = run_pipeline(incremental_pipeline(name, settings), source, settings)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a one-line report
        return SourceResult(
            name,
            "failed",
            requests=session.requests_made,
            seconds=time.monotonic() - started,
            error=redact(describe_failure(name, exc, session)),
        )
    finally:
        drop_traces(name, settings)
    return SourceResult(
        name,
        "success",
        rows_loaded=sum(tables.values()),
        requests=session.requests_made,
        seconds=time.monotonic() - started,
        tables=tables,
    )


INTERRUPTED = "interrupted: the sync stopped before it finished (killed, or the machine went down)"


def start_run(settings: Settings, run_id: str, started_at: datetime, full: bool, names: list[str]) -> None:
    """Record the run in ops.sync_log before loading anything: a row per source with status ``running``,
    so a sync that is killed leaves a trace (``gtm build`` refuses to publish over it). Rows still
    ``running`` from earlier runs were killed (the run lock lets no two syncs overlap): they become failed."""
    now = started_at.replace(tzinfo=None)
    try:
        with connect(settings) as warehouse:
            warehouse.execute("create schema if not exists ops")
            warehouse.execute(SYNC_LOG_DDL)
            warehouse.execute(
                "update ops.sync_log set status = 'failed', error_message = %s where status = 'running'",
                (INTERRUPTED,),
            )
            for name in names:
                warehouse.execute(
                    "insert into ops.sync_log values (%s, %s, %s, %s, 'running', %s, 0, 0, null)",
                    (run_id, name, now, now, full),
                )
    except GtmError:
        raise
    except Exception as exc:  # noqa: BLE001 - a full disk, a read-only warehouse: one line
        first = (str(exc).strip().splitlines() or [""])[0]
        raise GtmError(f"cannot record the sync in ops.sync_log: {type(exc).__name__}: {first}") from None


def finish_source(settings: Settings, run_id: str, result: SourceResult) -> None:
    """Record how one source's sync ended (read by freshness checks, alerts and ``gtm build``)."""
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with connect(settings) as warehouse:
        warehouse.execute(
            "update ops.sync_log set finished_at = %s, status = %s, rows_loaded = %s, requests = %s, "
            "error_message = %s where run_id = %s and source = %s",
            (
                finished_at,
                result.status,
                result.rows_loaded,
                result.requests,
                result.error,
                run_id,
                result.source,
            ),
        )


def run_sync(
    settings: Settings, names: tuple[str, ...] | list[str] = (), full: bool = False, progress: bool = False
) -> list[SourceResult]:
    """Sync the selected sources one after another; a failing source does not stop the others."""
    run_id = uuid.uuid4().hex
    started_at = datetime.now(timezone.utc)
    explicit = bool(names) or bool(os.environ.get("GTM_SOURCES", "").strip())
    results, to_sync = [], []
    skip = forgotten(settings)
    for name in selected_sources(names):
        if configured(name):
            to_sync.append(name)
        else:
            secret = SOURCES[name].secret
            reason = f"no {secret.replace('_', ' ')} (set SOURCES__{name.upper()}__{secret.upper()})"
            results.append(SourceResult(name, "failed" if explicit else "skipped", error=reason))
    failed_unconfigured = [r.source for r in results if r.status == "failed"]
    start_run(settings, run_id, started_at, full, failed_unconfigured + to_sync)
    for result in results:
        if result.status == "failed":
            finish_source(settings, run_id, result)
    for name in to_sync:
        try:
            result = sync_source(name, settings, full=full, progress=progress, skip=skip)
        except BaseException as exc:  # noqa: BLE001 - Ctrl-C or an error outside the loader: recorded
            result = SourceResult(name, "failed", error=redact(f"{name}: sync failed: {type(exc).__name__}"))
            finish_source(settings, run_id, result)
            raise
        finish_source(settings, run_id, result)
        results.append(result)
    return results
