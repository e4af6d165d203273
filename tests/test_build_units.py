"""gtm.build's own parts without a warehouse: the dbt log callback."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gtm.build import DbtLog


def event(level: str, msg: str) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(level=level, msg=msg))


def test_dbt_log_keeps_info_and_above_redacted(tmp_path: Path) -> None:
    log = DbtLog(tmp_path / "logs" / "dbt.log")
    log(event("debug", "On model.gtm.x: select 1"))
    log(event("info", "1 of 2 OK created sql view model staging.x"))
    log(event("warn", "connecting to postgresql://gtm:hunter2@db:5432/gtm"))
    log(event("error", "Database Error in model y"))
    log(event("info", ""))
    lines = (tmp_path / "logs" / "dbt.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
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
