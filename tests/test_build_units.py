"""gtm.build's own parts without a warehouse: the dbt log callback, the build summary's error lines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gtm.build import DbtLog, summarize


def event(level: str, msg: str, name: str = "SQLQuery") -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(level=level, msg=msg, name=name))


def test_dbt_log_keeps_info_and_above_and_the_parse_redacted(tmp_path: Path) -> None:
    log = DbtLog(tmp_path / "logs" / "dbt.log")
    log(event("debug", "On model.gtm.x: select 1"))
    skipped = "Partial parsing enabled, no changes found, skipping parsing"
    log(event("debug", skipped, "PartialParsingSkipParsing"))
    log(event("info", "1 of 2 OK created sql view model staging.x"))
    log(event("warn", "connecting to postgresql://gtm:hunter2@db:5432/gtm"))
    log(event("error", "Database Error in model y"))
    log(event("info", ""))
    lines = (tmp_path / "logs" / "dbt.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "[debug] Partial parsing enabled, no changes found, skipping parsing",  # what the parse read again
        "[info ] 1 of 2 OK created sql view model staging.x",
        "[warn ] connecting to postgresql://gtm:***@db:5432/gtm",
        "[error] Database Error in model y",
    ]


def test_dbt_log_moves_a_full_log_aside(tmp_path: Path) -> None:
    path = tmp_path / "dbt.log"
    path.write_text("x" * (DbtLog.MAX_BYTES + 1))
    DbtLog(path)(event("info", "next build"))
    assert (tmp_path / "dbt.log.1").stat().st_size == DbtLog.MAX_BYTES + 1
    assert path.read_text().endswith("[info ] next build\n")


def test_an_errored_model_is_named_with_the_databases_message(tmp_path: Path) -> None:
    """dbt's first line of a node error only names the node; the summary shows the line after it."""
    node = SimpleNamespace(name="int_product_logins_aggregated", resource_type="model", test_metadata=None)
    message = (
        "Runtime Error in model int_product_logins_aggregated (models/int_product_logins_aggregated.sql)\n"
        "  Out of Memory Error: failed to allocate data of size 16.0 MiB (1.8 GiB/1.8 GiB used)\n"
    )
    results = SimpleNamespace(
        elapsed_time=2.0, results=[SimpleNamespace(node=node, status="error", message=message)]
    )
    summary = summarize(results, SimpleNamespace(project_dir=tmp_path))
    assert summary.errored == [
        "int_product_logins_aggregated (Out of Memory Error: failed to allocate data of size 16.0 MiB"
        " (1.8 GiB/1.8 GiB used))"
    ]
    assert not summary.ok
