"""Secrets and the read-only role (issue 8, items 8 and 9): `make grants` leaves no password in logs or
artifacts, a URL-encoded DATABASE_URL password works for sync, build and the CLI alike, a password in a
source's base URL is not stored by dlt, the reader cannot create temp tables or large objects, and a reader
holding a lock makes a build fail fast with one line."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import pytest
from conftest import (
    AS_OF,
    PG_ADMIN_URL,
    PROJECT_DIR,
    TOKEN,
    Sandbox,
    Warehouse,
    _drop_postgres_database,
    new_warehouse,
)

from gtm.grants import scram_verifier

READER_PASSWORD = "canary-reader-pw-91f3e7"
BIN = Path(sys.executable).parent


def files_containing(root: Path, needle: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, str, Path]]:
    """A PostgreSQL warehouse, synced and built, after `make grants` with a canary password."""
    role = f"gtm_reader_{uuid.uuid4().hex[:8]}"
    dbt_dirs = tmp_path_factory.mktemp("dbt-grants")
    warehouse, database = new_warehouse("postgres", tmp_path_factory.mktemp("grants"), dbt_dirs)
    env = {**os.environ, **warehouse.env, "GTM_READONLY_ROLE": role, "GTM_READONLY_PASSWORD": READER_PASSWORD}
    try:
        result = subprocess.run(
            ["make", "--no-print-directory", "--old-file", ".venv/.installed", f"BIN={BIN}", "grants"],
            cwd=PROJECT_DIR,
            env=env,
            text=True,
            capture_output=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert READER_PASSWORD not in result.stdout + result.stderr
        box = Sandbox(customers=100, seed=4, token=TOKEN)
        try:
            warehouse.env.update(box.env())
            warehouse.gtm("sync")
        finally:
            box.close()
        warehouse.gtm("build")
        yield warehouse, role, dbt_dirs
    finally:
        if database:
            _drop_postgres_database(database)
        admin = psycopg2.connect(PG_ADMIN_URL)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'drop role if exists "{role}"')
        admin.close()


def reader(warehouse: Warehouse, role: str) -> psycopg2.extensions.connection:
    parts = urlsplit(warehouse.env["DATABASE_URL"])
    netloc = f"{role}:{READER_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
    connection = psycopg2.connect(urlunsplit(("postgresql", netloc, parts.path, "", "")))
    connection.autocommit = True
    return connection


def test_scram_verifier_matches_postgresql() -> None:
    """The verifier of RFC 7677's example password and salt, as PostgreSQL computes it."""
    admin = psycopg2.connect(PG_ADMIN_URL)
    try:
        ours = scram_verifier("pencil", salt=b"0123456789abcdef")
        salt, keys = ours.split("$")[1].split(":")[1], ours.split("$")[2]
        assert ours.startswith("SCRAM-SHA-256$4096:") and salt and ":" in keys
        role = f"gtm_scram_{uuid.uuid4().hex[:8]}"
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"create role {role} login password %s", (ours,))
            cursor.execute("select rolpassword from pg_authid where rolname = %s", (role,))
            assert cursor.fetchone()[0] == ours  # stored as given: a verifier, not a password
            cursor.execute(f"drop role {role}")
    finally:
        admin.close()


@pytest.mark.postgres
def test_grants_leave_no_password_in_logs_or_artifacts(granted: tuple[Warehouse, str, Path]) -> None:
    warehouse, role, dbt_dirs = granted
    assert files_containing(dbt_dirs, READER_PASSWORD) == []
    assert files_containing(PROJECT_DIR / "logs", READER_PASSWORD) == []
    assert files_containing(PROJECT_DIR / "target", READER_PASSWORD) == []
    connection = reader(warehouse, role)  # and the password works
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from marts.unified_customers")
        assert cursor.fetchone()[0] > 0
    connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "create temporary table scratch (a integer)",
        "select lo_from_bytea(0, 'x'::bytea)",
        "select lo_create(0)",
    ],
)
def test_read_only_role_has_no_temp_tables_or_large_objects(
    granted: tuple[Warehouse, str, Path], statement: str
) -> None:
    warehouse, role, _ = granted
    connection = reader(warehouse, role)
    with connection.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cursor.execute(statement)
    connection.close()


@pytest.mark.postgres
def test_reader_gets_server_side_timeouts(granted: tuple[Warehouse, str, Path]) -> None:
    warehouse, role, _ = granted
    connection = reader(warehouse, role)
    with connection.cursor() as cursor:
        cursor.execute("show idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"
    connection.close()


@pytest.mark.postgres
def test_reader_with_an_open_transaction_fails_the_build_fast_with_one_line(
    granted: tuple[Warehouse, str, Path],
) -> None:
    warehouse, role, _ = granted
    connection = reader(warehouse, role)
    connection.autocommit = False
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from marts.unified_customers")  # holds ACCESS SHARE until commit
        started = time.monotonic()
        result = warehouse.gtm("build", env={"GTM_LOCK_TIMEOUT": "3s"}, check=False)
        elapsed = time.monotonic() - started
    connection.rollback()
    connection.close()
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unified_customers" in lines[0] and role in lines[0], result.stderr
    assert elapsed < 60
    warehouse.gtm("build")  # once the reader is gone, the build passes


def test_url_encoded_password_is_decoded_once_for_every_client() -> None:
    from gtm.settings import Settings

    password = "c@n:ary/p%w#1"
    url = f"postgresql://builder:{quote(password, safe='')}@db.example:6543/gtm%5Fprod?sslmode=require"
    settings = Settings.from_env().__class__(
        warehouse="postgres", duckdb_path=Path("x"), database_url=url, as_of=AS_OF, project_dir=PROJECT_DIR
    )
    assert settings.postgres == {
        "host": "db.example",
        "port": 6543,
        "user": "builder",
        "password": password,
        "dbname": "gtm_prod",
    }
    env = settings.dbt_env()  # dbt reads these through profiles.yml
    assert env["GTM_PG_PASSWORD"] == password and env["GTM_PG_DBNAME"] == "gtm_prod"
    from gtm.sync import destination
    from gtm.warehouse import postgres_connect_kwargs

    assert destination(settings).config_params["credentials"].password == password  # dlt
    assert postgres_connect_kwargs(settings)["password"] == password  # psycopg2
    assert postgres_connect_kwargs(settings)["sslmode"] == "require"


@pytest.mark.postgres
def test_url_encoded_password_canary_never_printed_or_stored(tmp_path: Path, dbt_dirs: Path) -> None:
    """Sync, build and the CLI with a URL-encoded password (the local server trusts loopback, so any
    password logs in: the test is about where it goes)."""
    password = "c@n:ary/p%w-" + uuid.uuid4().hex[:6]
    warehouse, database = new_warehouse("postgres", tmp_path, dbt_dirs)
    parts = urlsplit(warehouse.env["DATABASE_URL"])
    netloc = f"{parts.username}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5432}"
    box = Sandbox(customers=60, seed=8, token=TOKEN)
    try:
        warehouse.env.update(
            {**box.env(), "DATABASE_URL": urlunsplit(("postgresql", netloc, parts.path, "", ""))}
        )
        base_password = f"basepw{uuid.uuid4().hex[:8]}"
        warehouse.env["SOURCES__INTERCOM__BASE_URL"] = box.env()["SOURCES__INTERCOM__BASE_URL"].replace(
            "http://", f"http://proxy:{base_password}@"
        )
        warehouse.gtm("sync")
        warehouse.gtm("build")
        assert "customers" in warehouse.gtm("summary").stdout
        for secret in (password, quote(password, safe=""), base_password):
            assert not any(secret in output for output in warehouse.outputs)
            assert files_containing(tmp_path, secret) == []
            assert files_containing(dbt_dirs, secret) == []
    finally:
        box.close()
        _drop_postgres_database(database)


@pytest.mark.postgres
def test_reader_with_a_long_query_fails_the_build_with_one_line_naming_it(
    granted: tuple[Warehouse, str, Path],
) -> None:
    warehouse, role, _ = granted
    connection = reader(warehouse, role)
    connection.autocommit = False
    with connection.cursor() as cursor:  # a reader may lift its own timeouts (docs/reliability.md)
        cursor.execute("set statement_timeout = 0")
        cursor.execute("select count(*) from marts.unified_customers")  # holds the table until the end
    query = threading.Thread(target=lambda: _run_quietly(connection, "select pg_sleep(900)"))  # active
    query.start()
    try:
        time.sleep(1)
        result = warehouse.gtm("build", env={"GTM_LOCK_TIMEOUT": "2s"}, check=False)
    finally:
        connection.cancel()
        query.join()
        connection.close()
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("gtm: error: dbt build failed: " + role), result.stderr
    assert "marts.unified_customers" in lines[-1]


def _run_quietly(connection: psycopg2.extensions.connection, sql: str) -> None:
    with connection.cursor() as cursor, contextlib.suppress(psycopg2.errors.QueryCanceled):
        cursor.execute(sql)
