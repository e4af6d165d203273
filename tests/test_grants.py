"""`make grants` on PostgreSQL: the read-only role it creates reads every mart, including the tables built
after the grant (default privileges), and cannot create, insert, update, delete, truncate or drop anything,
nor read the raw and intermediate schemas."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from conftest import (
    PG_ADMIN_URL,
    PROJECT_DIR,
    TOKEN,
    Sandbox,
    Warehouse,
    _drop_postgres_database,
    new_warehouse,
)

READER_PASSWORD = "reader-pw-5e2a"


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path) -> Iterator[tuple[Warehouse, str]]:
    """A PostgreSQL warehouse where `make grants` ran before the first build, then sync and build."""
    role = f"gtm_reader_{uuid.uuid4().hex[:8]}"
    warehouse, database = new_warehouse("postgres", tmp_path_factory.mktemp("grants"), dbt_dirs)
    env = {**os.environ, **warehouse.env, "GTM_READONLY_ROLE": role, "GTM_READONLY_PASSWORD": READER_PASSWORD}
    try:
        result = subprocess.run(
            ["make", "--no-print-directory", "--old-file", ".venv/.installed", "grants"],
            cwd=PROJECT_DIR,
            env=env,
            text=True,
            capture_output=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"read-only role {role}" in result.stdout
        box = Sandbox(customers=120, seed=3, token=TOKEN)
        try:
            warehouse.env.update(box.env())
            warehouse.gtm("sync")
        finally:
            box.close()
        warehouse.gtm("build")
        yield warehouse, role
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


@pytest.mark.postgres
def test_read_only_role_reads_every_mart_built_after_the_grant(granted: tuple[Warehouse, str]) -> None:
    warehouse, role = granted
    marts = [
        r["table_name"]
        for r in warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    ]
    assert {"unified_customers", "customer_health_trends", "report_monthly_mrr"} <= set(marts)
    connection = reader(warehouse, role)
    with connection.cursor() as cursor:
        cursor.execute("select current_user")
        assert cursor.fetchone() == (role,)
        for table in marts:
            cursor.execute(f"select count(*) from marts.{table}")
            assert cursor.fetchone()[0] >= 0
        cursor.execute("select count(*) from marts.unified_customers")
        assert cursor.fetchone()[0] > 0
    connection.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.dashboard_summary (as_of_date) values ('2026-01-01')",
        "update marts.unified_customers set name = 'x'",
        "delete from marts.unified_customers",
        "truncate marts.customer_risk_signals",
        "drop table marts.unified_customers",
        "alter table marts.unified_customers add column x integer",
        "create table marts.scratch (a integer)",
        "create view marts.scratch_view as select 1 as a",
        "create table public.scratch (a integer)",
        "create schema scratch",
        "select count(*) from raw_intercom.contacts",
        "select count(*) from intermediate.int_customers_unified",
        "select count(*) from ops.sync_log",
    ],
)
def test_read_only_role_cannot_write_or_read_outside_marts(
    granted: tuple[Warehouse, str], statement: str
) -> None:
    warehouse, role = granted
    connection = reader(warehouse, role)
    with connection.cursor() as cursor, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cursor.execute(statement)
    connection.close()


@pytest.mark.postgres
def test_the_reader_sees_the_marts_descriptions_as_comments(granted: tuple[Warehouse, str]) -> None:
    """Metabase shows PostgreSQL comments: the marts carry their dbt descriptions, the staging views none."""
    warehouse, role = granted
    with reader(warehouse, role) as connection, connection.cursor() as cursor:
        cursor.execute(
            "select obj_description('marts.unified_customers'::regclass),"
            " col_description('marts.unified_customers'::regclass, a.attnum)"
            " from pg_attribute a where a.attrelid = 'marts.unified_customers'::regclass"
            " and a.attname = 'health_score'"
        )
        table_comment, column_comment = cursor.fetchone()
    assert table_comment and "customer" in table_comment.lower()
    assert column_comment == "health_base minus penalties, clamped to 0..100, rounded half-up."
    staged = warehouse.query("select obj_description('staging.stg_intercom__contacts'::regclass) as c")
    assert staged == [{"c": None}]
