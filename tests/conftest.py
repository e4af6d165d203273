"""Shared fixtures: a real sandbox over HTTP, a fresh warehouse of each kind, `gtm` run as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 20)
# A canary: the tests look for it in every output to prove secrets never leak.
TOKEN = "canary-tok-7c1e9b2f4d6a8e03"
# The local server trusts loopback connections, so a password in DATABASE_URL is ignored by it, which makes
# it a safe canary for the database password.
PG_PASSWORD = "canary-pw-3b5d7f9a1c"
PG_ADMIN_URL = os.environ.get("GTM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WAREHOUSES = ["duckdb", "postgres"]


def dbt_cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The venv's `dbt` command in a subprocess, as a user runs it: from `project`, with its profiles.yml."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args, "--profiles-dir", str(project)],
        cwd=project,
        env={**os.environ, **(env or {})},
        text=True,
        capture_output=True,
        timeout=900,
        check=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@dataclass
class Warehouse:
    """A warehouse of one kind, new for the test, with the environment that points gtm at it."""

    kind: str
    env: dict[str, str]
    workdir: Path
    outputs: list[str] = field(default_factory=list)

    def query(self, sql: str) -> list[dict[str, Any]]:
        if self.kind == "duckdb":
            import duckdb

            with duckdb.connect(self.env["GTM_DUCKDB_PATH"], read_only=True) as connection:
                cursor = connection.execute(sql)
                names = [c[0] for c in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        with psycopg2.connect(self.env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        connection.close()
        return rows

    def gtm(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `gtm` command in a subprocess, as a user or cron would."""
        full_env = {**os.environ, **self.env, **(env or {})}
        result = subprocess.run(
            [sys.executable, "-m", "gtm.cli", *args],
            cwd=self.workdir,
            env=full_env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        self.outputs.append(result.stdout + result.stderr)
        if check and result.returncode != 0:
            raise AssertionError(
                f"gtm {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result


def _postgres_database(name: str) -> str:
    try:
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); start it (see .ci/run)")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    admin.close()
    admin_url = urlsplit(PG_ADMIN_URL)
    netloc = f"{admin_url.username or 'postgres'}:{PG_PASSWORD}@{admin_url.hostname}:{admin_url.port or 5432}"
    return urlunsplit(("postgresql", netloc, f"/{name}", "", ""))


def _drop_postgres_database(name: str) -> None:
    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


@pytest.fixture(scope="session")
def dbt_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target/log folder per warehouse kind for the session, so partial parsing is reused."""
    return tmp_path_factory.mktemp("dbt")


def new_warehouse(kind: str, workdir: Path, dbt_dirs: Path) -> tuple[Warehouse, str | None]:
    env = {
        "GTM_WAREHOUSE": kind,
        "GTM_PIPELINES_DIR": str(workdir / "pipelines"),
        "GTM_AS_OF": AS_OF.isoformat(),
        "DBT_TARGET_PATH": str(dbt_dirs / f"target-{kind}"),
        "DBT_LOG_PATH": str(dbt_dirs / f"logs-{kind}"),
        "GTM_SOURCES": "",
    }
    database = None
    if kind == "duckdb":
        env["GTM_DUCKDB_PATH"] = str(workdir / "gtm.duckdb")
    else:
        database = f"gtm_test_{uuid.uuid4().hex[:12]}"
        env["DATABASE_URL"] = _postgres_database(database)
    return Warehouse(kind, env, workdir), database


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, dbt_dirs: Path) -> Iterator[Warehouse]:
    wh, database = new_warehouse(request.param, tmp_path, dbt_dirs)
    yield wh
    if database:
        _drop_postgres_database(database)


class Sandbox:
    """A running sandbox and its control endpoints."""

    def __init__(self, **kwargs: Any) -> None:
        from sandbox.server import start_in_thread

        self.server = start_in_thread(**kwargs)
        self.url = self.server.base_url
        self.company = self.server.company

    def env(self, token: str = TOKEN, revenue: bool = False) -> dict[str, str]:
        """Credentials of Intercom, plus Stripe and ChartMogul (phase 4) with `revenue`."""
        env = {
            "SOURCES__INTERCOM__BASE_URL": f"{self.url}/intercom",
            "SOURCES__INTERCOM__ACCESS_TOKEN": token,
        }
        if revenue:
            for name in ("stripe", "chartmogul"):
                env[f"SOURCES__{name.upper()}__BASE_URL"] = f"{self.url}/{name}"
                env[f"SOURCES__{name.upper()}__ACCESS_TOKEN"] = token
        return env

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def reset_stats(self) -> None:
        self.control("POST", "stats/reset", {})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF)
    yield box
    box.close()
