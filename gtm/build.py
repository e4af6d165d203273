"""`gtm build`: dbt build (models, history, data tests) on the configured warehouse, in this process.

dbt runs through its Python entry point (`dbtRunner`), not a child process: nothing outlives `gtm` when it is
killed, and a backfill builds all its dates on one parsed project. Partial parsing survives between runs
(target/partial_parse.msgpack) because the as-of date reaches dbt through the environment (GTM_AS_OF, read
by the macro as_of_date when models execute), not through --vars, whose every change makes dbt re-parse
the whole project. dbt's full log goes to logs/dbt.log; the caller prints the short BuildSummary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gtm.errors import GtmError, redact
from gtm.settings import Settings
from gtm.warehouse import check_writable, connect

# dbt's advice: unit tests run in development and CI (tests/test_dbt_unit_tests.py), not in production
PRODUCTION_EXCLUDE = ["--exclude-resource-type", "unit_test"]
# dbt's JSON artifacts (target/manifest.json, run_results.json): dbt writes the manifest after parsing and
# again after the run, about 0.7 s of a small build (docs/benchmarks.md), for catalog and monitoring tools
# that a cron build does not feed. `make docs` (dbt docs generate) writes the manifest with the catalog;
# DBT_WRITE_JSON=true (dbt's own setting) makes gtm's builds write them too.
ARTIFACTS = "DBT_WRITE_JSON"
_manifests: dict[str, Any] = {}


@dataclass
class BuildSummary:
    """What one dbt invocation did, counted from dbt's own results."""

    models: int = 0
    seeds: int = 0
    tests_passed: int = 0
    warned: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errored

    def lines(self) -> list[str]:
        """The operator's view: one line of counts, then one line per warned, failed or broken node."""
        tests = self.tests_passed + len(self.warned) + len(self.failed)
        head = (
            f"dbt build: {self.models:,} models, {self.seeds:,} seeds; {tests:,} tests: "
            f"{self.tests_passed:,} passed, {len(self.warned):,} warned, {len(self.failed):,} failed"
            + (f"; {len(self.errored):,} errors" if self.errored else "")
            + (f", {self.skipped:,} skipped" if self.skipped else "")
            + f"; {self.seconds:.1f} s"
        )
        detail = [f"  warned: {name}" for name in self.warned]
        detail += [f"  failed: {name}" for name in self.failed]
        detail += [f"  error:  {name}" for name in self.errored]
        if detail and self.log_path:
            detail.append(f"  dbt's log: {self.log_path}")
        return [redact(line) for line in (head, *detail)]


class BuildFailed(GtmError):
    """dbt build ran and something failed; ``summary`` names what."""

    def __init__(self, message: str, summary: BuildSummary) -> None:
        super().__init__(message)
        self.summary = summary


def ensure_profile(project_dir: Path) -> Path:
    """The shipped profile reads the environment; copy it to the git-ignored profiles.yml dbt looks for."""
    profile = project_dir / "profiles.yml"
    if not profile.exists():
        shutil.copyfile(project_dir / "profiles.example.yml", profile)
    return project_dir


def log_path(settings: Settings) -> Path:
    return Path(os.environ.get("DBT_LOG_PATH") or settings.project_dir / "logs") / "dbt.log"


def parse_vars(text: str | None) -> dict[str, Any]:
    """``--vars`` as dbt takes it (YAML or JSON object) into a dict; one-line error otherwise."""
    if not text:
        return {}
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise GtmError(f"--vars is not a YAML or JSON object: {first}") from None
    if not isinstance(value, dict):
        raise GtmError("--vars must be an object, e.g. --vars '{mrr_statuses: [active]}'")
    return value


def run_dbt(
    settings: Settings,
    args: list[str],
    extra_vars: dict[str, Any] | None = None,
    verbose: bool = False,
    keep_parsed: bool = False,
) -> Any:
    """One dbt command in this process against the configured warehouse, for the settings' as-of date.

    keep_parsed: parse the project once and keep it for the later commands of this process (backfill builds
    many dates on one parse); otherwise the command parses for itself (partially, from
    target/partial_parse.msgpack), which spares a one-off build dbt's second invocation.

    Returns dbt's result object (RunExecutionResult for build/test/run); raises GtmError when dbt could not
    run at all (bad profile, unreachable database, compilation error). Ctrl-C reaches the caller.
    """
    from dbt.cli.main import dbtRunner

    project_dir = ensure_profile(settings.project_dir)
    os.environ.update(settings.dbt_env())
    os.environ["GTM_AS_OF"] = settings.as_of.isoformat()
    colours = "--use-colors" if verbose and sys.stdout.isatty() else "--no-use-colors"
    flags = [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        colours,
        "--no-use-colors-file",
        "--log-level",
        "info" if verbose else "none",
        "--log-level-file",
        "none",  # dbt formats every debug event for a file logger before filtering: DbtLog instead
    ]
    if extra_vars:
        flags += ["--vars", json.dumps(extra_vars, sort_keys=True)]
    # one parsed project per (project, warehouse, vars) for the life of this process
    key = json.dumps([str(project_dir), settings.warehouse, extra_vars or {}], sort_keys=True, default=str)
    if keep_parsed and key not in _manifests:
        # the parse only refreshes target/partial_parse.msgpack; the build writes the artifacts if asked
        parsed = dbtRunner(callbacks=[dbt_log(settings)]).invoke(["parse", "--no-write-json", *flags])
        _manifests[key] = checked(parsed, "parse", settings).result
    try:
        runner = dbtRunner(manifest=_manifests.get(key), callbacks=[dbt_log(settings)])
        artifacts = [] if ARTIFACTS in os.environ else ["--no-write-json"]
        result = runner.invoke([*args, *flags, *artifacts])
    finally:
        release_duckdb()
    return checked(result, args[0], settings).result


class DbtLog:
    """dbt's info, warning and error events, appended to logs/dbt.log with secrets redacted; past 10 MB the
    log moves to dbt.log.1 (the one before is dropped), as dbt's own rotation would.

    dbt's own file logger turns every debug event (several per SQL statement) into a line before its level
    filter drops it: a tenth of a small build's CPU. This callback looks at the level first. The SQL each
    node ran is in target/run/."""

    LEVELS = frozenset({"info", "warn", "error"})
    # dbt's debug events that say what the parse read again: none when nothing changed ("no changes found,
    # skipping parsing"), one per file otherwise
    PARSE_EVENTS = frozenset({"PartialParsingSkipParsing", "PartialParsingEnabled", "PartialParsingFile"})
    MAX_BYTES = 10 * 1024 * 1024

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > self.MAX_BYTES:
            path.replace(path.with_name(path.name + ".1"))
        self.path = path

    def __call__(self, event: Any) -> None:
        info = event.info
        if (info.level not in self.LEVELS and info.name not in self.PARSE_EVENTS) or not info.msg:
            return
        stamp = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} [{info.level:<5}] {redact(str(info.msg))}\n")


def dbt_log(settings: Settings) -> DbtLog:
    return DbtLog(log_path(settings))


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process (a class attribute), so
    that gtm's own connections after a build (alerts, reports, the next backfill date) can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def checked(result: Any, command: str, settings: Settings) -> Any:
    """dbt's result when dbt ran; Ctrl-C goes on to the caller, anything else is one GtmError line."""
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception
    if result.exception is not None:
        first = first_line(str(result.exception)) or type(result.exception).__name__
        raise GtmError(redact(f"dbt {command} could not run: {first}; see {log_path(settings)}"))
    return result


def summarize(results: Any, settings: Settings) -> BuildSummary:
    summary = BuildSummary(seconds=float(getattr(results, "elapsed_time", 0.0) or 0.0))
    summary.log_path = log_path(settings)
    for result in getattr(results, "results", []) or []:
        node = result.node
        kind = str(node.resource_type)
        status = str(result.status)
        label = node.name
        if status in ("fail", "warn") and rules_test(node):
            label = f"{node.name} ({broken_rules(settings, node.compiled_code)})"
        elif result.message and status in ("fail", "warn", "error"):
            label = f"{node.name} ({error_line(result.message)})"
        if status == "skipped":
            summary.skipped += 1
        elif status == "error":
            summary.errored.append(label)
        elif kind in ("test", "unit_test"):
            if status == "pass":
                summary.tests_passed += 1
            elif status == "warn":
                summary.warned.append(label)
            elif status == "fail":
                summary.failed.append(label)
        elif kind == "model" and status == "success":
            summary.models += 1
        elif kind == "seed" and status == "success":
            summary.seeds += 1
    return summary


def rules_test(node: Any) -> bool:
    metadata = getattr(node, "test_metadata", None)
    return getattr(metadata, "name", None) == "column_rules" and bool(getattr(node, "compiled_code", None))


def broken_rules(settings: Settings, compiled_sql: str) -> str:
    """The rules a failed column_rules test found broken, e.g. "unique(contact_id): 1": its query again."""
    try:
        with connect(settings, read_only=True) as warehouse:
            rows = warehouse.query(compiled_sql)
    except Exception as exc:  # the summary still names the test; dbt's log has the query
        return f"its rules could not be listed: {first_line(str(exc))}"
    return "; ".join(f"{row['rule']}: {row['failing']:,}" for row in rows) or "no rule broken now"


def error_line(message: str) -> str:
    """What went wrong in a node, in one line: dbt's first line only names the node ("Runtime Error in model
    x (path)"), the database's own message follows it (e.g. "Out of Memory Error: ...")."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    detail = [line for line in lines if not NODE_ERROR_HEADER.match(line)]
    return (detail or lines or [""])[0][:300]


NODE_ERROR_HEADER = re.compile(r"^\w+ Error in (model|test|seed|snapshot|unit_test|sql_operation) ")


def first_line(message: str) -> str:
    return (str(message).strip().splitlines() or [""])[0][:200]


def build(
    settings: Settings,
    extra_vars: dict[str, Any] | None = None,
    verbose: bool = False,
    select: str | None = None,
    keep_parsed: bool = False,
) -> BuildSummary:
    """``dbt build`` for the as-of date without unit tests; raises BuildFailed (one line) when any node
    fails, with the summary attached. keep_parsed: see run_dbt."""
    if settings.warehouse == "duckdb":
        check_writable(settings)
    args = ["build", *PRODUCTION_EXCLUDE] + (["--select", select] if select else [])
    results = run_dbt(settings, args, extra_vars, verbose=verbose, keep_parsed=keep_parsed)
    summary = summarize(results, settings)
    if not summary.ok:
        names = [label.split(" (", 1)[0] for label in summary.errored + summary.failed]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        what = "failed" if summary.failed and not summary.errored else "failed with errors"
        raise BuildFailed(
            redact(f"dbt build {what}: {shown}; see {summary.log_path}"),
            summary,
        )
    record_build(settings, select)
    return summary


def record_build(settings: Settings, select: str | None) -> None:
    """One row in ops.build_log per successful build (the API's /health reports the last one)."""
    with connect(settings) as warehouse:
        warehouse.execute("create schema if not exists ops")
        warehouse.execute(
            "create table if not exists ops.build_log"
            " (finished_at timestamp not null, as_of_date date not null, selection varchar(200))"
        )
        warehouse.execute(
            "insert into ops.build_log values (%s, %s, %s)",
            (datetime.now(timezone.utc).replace(tzinfo=None), settings.as_of, select),
        )
