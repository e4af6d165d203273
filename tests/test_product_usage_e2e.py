"""Product usage end to end, as a user runs it: the sandbox's product database (SQLite with DuckDB, the same
schema on PostgreSQL with PostgreSQL), Userflow and Fathom over HTTP, Intercom for last seen; `gtm sync`,
`gtm build`; the marts checked against tests/expected_product.py (computed from the generated rows). Then an
incremental round on the product database: new logins, a late-committed row inside the lag and one outside
it, deleted rows (a key scan finds them). A mapping that renames every configured table and column loads
the same numbers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa
from conftest import (
    AS_OF,
    PG_ADMIN_URL,
    TOKEN,
    WAREHOUSES,
    Sandbox,
    Warehouse,
    _drop_postgres_database,
    new_warehouse,
)
from expected_product import Product, expected_product, onboarding_stalls, opportunities, usage_declines

from sandbox.product_db import SCHEMA, product_table, sqlite_url

COLUMNS = (
    "logins_7d",
    "logins_30d",
    "active_days_30d",
    "last_login_at",
    "usage_30d",
    "usage_prev_30d",
    "usage_trend",
    "credits_balance",
    "credits_used_30d",
    "credits_days_left",
    "exports_30d",
    "seats_purchased",
    "seats_used",
    "seat_utilization",
    "onboarding_progress",
    "onboarding_completed_at",
    "is_onboarding_stalled",
    "meetings_90d",
    "last_meeting_at",
    "open_action_items",
)


def product_url(kind: str, workdir: Path) -> tuple[str, str | None]:
    """A fresh product database: a SQLite file, or a new PostgreSQL database (its name to drop)."""
    if kind == "sqlite":
        return sqlite_url(str(workdir / "product.sqlite")), None
    name = f"gtm_product_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def source_env(box: Sandbox, url: str) -> dict[str, str]:
    return {
        **box.env(),
        "SOURCES__USERFLOW__BASE_URL": f"{box.url}/userflow",
        "SOURCES__USERFLOW__ACCESS_TOKEN": TOKEN,
        "SOURCES__FATHOM__BASE_URL": f"{box.url}/fathom",
        "SOURCES__FATHOM__ACCESS_TOKEN": TOKEN,
        "SOURCES__FATHOM__INITIAL_DAYS": "3650",  # the loader's window uses the real clock, not AS_OF
        "SOURCES__ADMIN__CREDENTIALS": url,
    }


class Run:
    """The warehouse, the sandbox and the product database of one warehouse kind."""

    def __init__(self, warehouse: Warehouse, box: Sandbox, url: str) -> None:
        self.warehouse, self.box, self.url = warehouse, box, url
        self.engine = sa.create_engine(url)

    def tables(self, names: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
        """The product database's current rows per canonical table (what the warehouse should reflect)."""
        metadata = sa.MetaData()
        rows = {}
        with self.engine.connect() as connection:
            for name, columns in SCHEMA.items():
                table = product_table(metadata, name, names)
                canonical = list(columns)
                result = connection.execute(sa.select(*table.columns))
                rows[name] = [dict(zip(canonical, row, strict=True)) for row in result]
        return rows

    def expected(self) -> dict[str, Product]:
        userflow = self.box.server.vendors["userflow"]
        lists = {**userflow.lists, "content": userflow.content()}
        return expected_product(self.tables(), AS_OF, lists, self.box.server.vendors["fathom"].meetings)


@pytest.fixture(scope="module", params=WAREHOUSES)
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Run]:
    """DuckDB with the product database in SQLite, PostgreSQL with it in PostgreSQL; synced and built once."""
    kind = request.param
    workdir = tmp_path_factory.mktemp(f"product-{kind}")
    box = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF, rate_limit=100_000)
    url, product_database = product_url("sqlite" if kind == "duckdb" else "postgres", workdir)
    box.server.product_db.write(url)
    warehouse, database = new_warehouse(kind, workdir, dbt_dirs)
    warehouse.env.update(source_env(box, url))
    warehouse.gtm("sync")
    warehouse.gtm("build")
    yield Run(warehouse, box, url)
    box.close()
    if database:
        _drop_postgres_database(database)
    if product_database:
        _drop_postgres_database(product_database)


def normalised(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    return value


def assert_product_columns(run: Run) -> dict[str, Product]:
    expected = run.expected()
    actual = {row["email_key"]: row for row in run.warehouse.query("select * from marts.unified_customers")}
    assert set(expected) <= set(actual), sorted(set(expected) - set(actual))[:5]
    mismatches = []
    for key, want in expected.items():
        got = actual[key]
        for column in COLUMNS:
            wanted = getattr(want, column)
            if column == "is_onboarding_stalled":
                wanted = bool(wanted)
            have = normalised(got[column])
            if isinstance(wanted, Decimal) and have is not None:
                have = Decimal(str(have)).quantize(wanted)
            if isinstance(wanted, datetime):
                wanted = wanted.replace(microsecond=0)
            if have != wanted:
                mismatches.append((key, column, have, wanted))
    assert mismatches == [], mismatches[:10]
    return expected


def test_product_columns_match_the_generated_events(run: Run) -> None:
    expected = assert_product_columns(run)
    rows = {row["email_key"]: row for row in run.warehouse.query("select * from marts.unified_customers")}
    # the data exercises every rule
    assert any(p.usage_trend is not None and p.usage_trend <= Decimal("-0.2") for p in expected.values())
    assert any(p.is_onboarding_stalled for p in expected.values())
    assert any(p.seat_utilization == 1 for p in expected.values() if p.seat_utilization is not None)
    # engagement from logins for everyone with a product user, the call show rate never for them
    for key, want in expected.items():
        if want.logins_30d is not None:
            assert rows[key]["engagement_basis"] == "product_logins", key
    # last seen is the latest of Intercom, the product and Userflow, never after the end of T's day
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day) + timedelta(days=1)
    for key, row in rows.items():
        if row["last_seen_at"] is not None:
            assert normalised(row["last_seen_at"]) < end
        want = expected.get(key)
        if want and want.last_login_at:
            assert normalised(row["last_seen_at"]) >= want.last_login_at.replace(microsecond=0)


def test_signals_and_opportunities_match(run: Run) -> None:
    expected = run.expected()
    signals = run.warehouse.query(
        "select email_key, signal, severity, recommended_action from marts.customer_risk_signals"
        " where signal in ('usage_decline', 'onboarding_stalled')"
    )
    found = {(s["email_key"], s["signal"]) for s in signals}
    assert {k for k, s in found if s == "usage_decline"} == usage_declines(expected)
    assert {k for k, s in found if s == "onboarding_stalled"} == onboarding_stalls(expected)
    assert {s["severity"] for s in signals if s["signal"] == "usage_decline"} == {"high"}
    assert {s["severity"] for s in signals if s["signal"] == "onboarding_stalled"} == {"medium"}
    assert all(s["recommended_action"] for s in signals)
    rows = run.warehouse.query(
        "select email_key, opportunity, estimated_value"
        " from intermediate.int_product_opportunities_identified"
    )
    assert {(r["email_key"], r["opportunity"]) for r in rows} == opportunities(expected)
    assert all(r["estimated_value"] > 0 for r in rows if r["opportunity"] == "credits_running_low")


def test_meeting_cancel_mentions_count_for_mentioned_cancel(run: Run) -> None:
    expected = run.expected()
    rows = {r["email_key"]: r for r in run.warehouse.query("select * from marts.unified_customers")}
    meeting = {k for k, p in expected.items() if p.mentioned_cancel_in_meeting}
    assert meeting, "slot 92 mentions cancelling in a recent meeting"
    for key in meeting:
        assert rows[key]["mentioned_cancel"] is True
        assert rows[key]["mentioned_cancel_source"] in ("meeting", "both")
    for key, row in rows.items():
        if row["mentioned_cancel_source"] in ("meeting", "both"):
            assert key in meeting, key
    quarantined = run.warehouse.query(
        "select reason from audit.quarantined_records where source = 'fathom' and entity = 'meetings'"
    )
    assert len(quarantined) == 1 and "timestamp" in quarantined[0]["reason"]


def test_incremental_new_late_and_deleted_rows(run: Run) -> None:
    """New logins load; a row committed late inside the lag loads, one outside it does not; deleted logins
    and a deleted user disappear once the key scan runs."""
    before = run.tables()
    latest_cursor = max(row["created_at"] for row in before["logins"])
    active = max(
        before["users"], key=lambda u: sum(1 for row in before["logins"] if row["user_id"] == u["user_id"])
    )
    gone_user = next(
        u for u in before["users"] if u["user_id"] != active["user_id"] and u["role"] == "member"
    )
    day = datetime(AS_OF.year, AS_OF.month, AS_OF.day) - timedelta(days=1)
    next_id = max(row["login_id"] for row in before["logins"]) + 1
    new_rows = [
        {
            "login_id": next_id,
            "user_id": active["user_id"],
            "logged_in_at": day + timedelta(hours=9),
            "created_at": latest_cursor + timedelta(minutes=30),
        },
        # committed late: its commit time is before the newest row already loaded, but within the 2h lag
        {
            "login_id": next_id + 1,
            "user_id": active["user_id"],
            "logged_in_at": day + timedelta(hours=10),
            "created_at": latest_cursor - timedelta(hours=1),
        },
        # committed later than the lag allows: the loader never sees it (the documented limit)
        {
            "login_id": next_id + 2,
            "user_id": active["user_id"],
            "logged_in_at": day + timedelta(hours=11),
            "created_at": latest_cursor - timedelta(hours=5),
        },
    ]
    deleted_logins = [row["login_id"] for row in before["logins"] if row["user_id"] == active["user_id"]][-3:]
    metadata = sa.MetaData()
    logins, users = product_table(metadata, "logins"), product_table(metadata, "users")
    with run.engine.begin() as connection:
        connection.execute(logins.insert(), new_rows)
        connection.execute(logins.delete().where(logins.c.login_id.in_(deleted_logins)))
        connection.execute(logins.delete().where(logins.c.user_id == gone_user["user_id"]))
        connection.execute(users.delete().where(users.c.user_id == gone_user["user_id"]))
        connection.execute(
            users.insert(),
            [
                {
                    "user_id": max(u["user_id"] for u in before["users"]) + 1,
                    "account_id": active["account_id"],
                    "email": "not-an-email",
                    "name": "Typo",
                    "role": "member",
                    "created_at": day,
                    "updated_at": latest_cursor,
                    "deactivated_at": None,
                }
            ],
        )
    run.warehouse.gtm("sync", "--source", "admin", env={"SOURCES__ADMIN__KEY_SCAN_HOURS": "0"})
    run.warehouse.gtm("build")
    loaded = {r["login_id"] for r in run.warehouse.query("select login_id from staging.stg_admin__logins")}
    assert {next_id, next_id + 1} <= loaded and next_id + 2 not in loaded
    assert not set(deleted_logins) & loaded
    quarantined = run.warehouse.query(
        "select reason, raw_values from audit.quarantined_records where source = 'admin' and entity = 'users'"
    )
    assert [(q["reason"], q["raw_values"]) for q in quarantined] == [
        ("invalid_email", "email=not-an-email; name=Typo")
    ]
    # expected from the database without the row the lag could not catch
    with run.engine.begin() as connection:
        connection.execute(logins.delete().where(logins.c.login_id == next_id + 2))
    expected = assert_product_columns(run)
    assert gone_user["email"].strip().lower() not in {
        k for k, p in expected.items() if p.logins_30d is not None
    }


def test_a_mapping_renames_every_table_and_column(tmp_path: Path, dbt_dirs: Path) -> None:
    """The product database under other table and column names, mapped in configuration, loads the same."""
    names = {
        table: {"table": f"app_{table}", "columns": {column: f"c_{column}" for column in columns}}
        for table, columns in SCHEMA.items()
    }
    box = Sandbox(customers=100, seed=5, token=TOKEN, anchor=AS_OF)
    try:
        url = sqlite_url(str(tmp_path / "renamed.sqlite"))
        box.server.product_db.write(url, names)
        canonical_to_source = {
            "accounts": {
                "account_id": "account_id",
                "account_name": "name",
                "plan": "plan",
                "created_at": "created_at",
                "updated_at": "updated_at",
            },
            "users": {
                "user_id": "user_id",
                "account_id": "account_id",
                "email": "email",
                "user_name": "name",
                "created_at": "created_at",
                "updated_at": "updated_at",
                "deactivated_at": "deactivated_at",
            },
            "seats": {
                "account_id": "account_id",
                "seats_purchased": "seats_purchased",
                "updated_at": "updated_at",
            },
            "logins": {
                "login_id": "login_id",
                "user_id": "user_id",
                "logged_in_at": "logged_in_at",
                "committed_at": "created_at",
            },
            "credit_transactions": {
                "transaction_id": "transaction_id",
                "account_id": "account_id",
                "user_id": "user_id",
                "credits": "credits",
                "occurred_at": "occurred_at",
                "committed_at": "created_at",
            },
            "exports": {
                "export_id": "export_id",
                "user_id": "user_id",
                "account_id": "account_id",
                "exported_at": "exported_at",
                "committed_at": "created_at",
            },
        }
        mapping = {
            role: {"table": f"app_{role}", "columns": {c: f"c_{s}" for c, s in columns.items()}}
            for role, columns in canonical_to_source.items()
        }
        warehouse, _ = new_warehouse("duckdb", tmp_path, dbt_dirs)
        warehouse.env.update(
            {"SOURCES__ADMIN__CREDENTIALS": url, "SOURCES__ADMIN__TABLES": json.dumps(mapping)}
        )
        warehouse.gtm("sync", "--source", "admin")
        warehouse.gtm("build")
        run = Run(warehouse, box, url)
        expected = expected_product(run.tables(names), AS_OF)
        actual = {r["email_key"]: r for r in warehouse.query("select * from marts.unified_customers")}
        assert set(expected) == set(actual)
        for key, want in expected.items():
            for column in ("logins_30d", "usage_30d", "credits_balance", "seats_used", "seats_purchased"):
                assert actual[key][column] == getattr(want, column), (key, column)
    finally:
        box.close()
