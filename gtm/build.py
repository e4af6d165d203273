"""`gtm build`: dbt build (models, history, tests) on the configured warehouse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gtm.errors import GtmError, redact
from gtm.settings import Settings
from gtm.warehouse import check_writable, connect


def ensure_profile(project_dir: Path) -> Path:
    """The shipped profile reads the environment; copy it to the git-ignored profiles.yml dbt looks for."""
    profile = project_dir / "profiles.yml"
    if not profile.exists():
        shutil.copyfile(project_dir / "profiles.example.yml", profile)
    return project_dir


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise GtmError("dbt is not installed in this environment; run `make install`")
    return found


def run_dbt(
    settings: Settings,
    args: list[str],
    extra_vars: dict[str, Any] | None = None,
    quiet: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run one dbt command against the configured warehouse with the as-of date set."""
    project_dir = ensure_profile(settings.project_dir)
    dbt_vars = {"as_of": settings.as_of.isoformat(), **(extra_vars or {})}
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--vars",
        json.dumps(dbt_vars),
    ]
    return subprocess.run(
        command,
        cwd=project_dir,
        env=settings.dbt_env(),
        text=True,
        capture_output=quiet,
        check=False,
    )


def build(
    settings: Settings,
    extra_vars: dict[str, Any] | None = None,
    quiet: bool = False,
    select: str | None = None,
) -> None:
    """``dbt build`` for the as-of date; raises GtmError with one line when anything fails."""
    if settings.warehouse == "duckdb":
        check_writable(settings)
    args = ["build"] + (["--select", select] if select else [])
    result = run_dbt(settings, args, extra_vars, quiet=quiet)
    if result.returncode != 0:
        detail = ""
        if quiet:
            errors = [
                line
                for line in (result.stdout or "").splitlines()
                if "Failure in" in line or "Error in" in line
            ]
            detail = f": {errors[0].strip()}" if errors else ""
        raise GtmError(redact(f"dbt build failed (exit {result.returncode}){detail}; see logs/dbt.log"))
    record_build(settings, select)


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
