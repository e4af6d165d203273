"""`gtm forget` on DuckDB and PostgreSQL: afterwards the email (any case) is in no column of any table, a full
re-sync and build do not bring the person back, the access log keeps only the hash, and `--undo` lets the
next full sync load them again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AS_OF, TOKEN, WAREHOUSES, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from fake_slack import FakeSlack
from test_phase2_e2e import crm_env

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast", "main_information_schema")


@pytest.fixture(scope="module", params=WAREHOUSES)
def synced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Warehouse]:
    box = Sandbox(customers=120, seed=23, token=TOKEN, anchor=AS_OF)
    warehouse, database = new_warehouse(request.param, tmp_path_factory.mktemp("forget"), dbt_dirs)
    warehouse.env.update(crm_env(box))
    try:
        warehouse.gtm("sync")
        warehouse.gtm("build")
        with FakeSlack("xoxb-forget-test") as slack:  # alerts sent and recorded in ops.alert_history
            warehouse.gtm(
                "alerts",
                env={
                    "SLACK_BOT_TOKEN": "xoxb-forget-test",
                    "SLACK_API_URL": slack.api_url,
                    "SLACK_MIN_INTERVAL_SECONDS": "0",
                },
            )
        yield warehouse
    finally:
        box.close()
        if database:
            _drop_postgres_database(database)


def places_holding(warehouse: Warehouse, needle: str) -> list[str]:
    """Every schema.table.column (tables and views, any text type) whose value contains `needle`, any case."""
    columns = warehouse.query(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where lower(data_type) in ('character varying', 'varchar', 'text', 'json', 'jsonb')"
        f" and table_schema not in {SYSTEM_SCHEMAS}"
    )
    found = []
    for column in columns:
        name = f'"{column["table_schema"]}"."{column["table_name"]}"'
        value = f'lower(cast("{column["column_name"]}" as varchar))'
        hits = warehouse.query(
            f"select count(*) as n from {name} where strpos({value}, '{needle.lower()}') > 0"
        )
        if hits[0]["n"]:
            found.append(f"{column['table_schema']}.{column['table_name']}.{column['column_name']}")
    return found


def pick_person(warehouse: Warehouse) -> str:
    """A customer known to all three sources, with an alert and calls: the most places to erase."""
    rows = warehouse.query(
        "select customers.email from marts.unified_customers as customers"
        " inner join ops.alert_history as alerts on alerts.email_key = customers.email_key"
        " where customers.hubspot_contact_id is not null and customers.calls_booked_90d > 0"
        " order by customers.email_key limit 1"
    )
    assert rows, "the sandbox has a customer in Intercom, HubSpot and Calendly with an alert"
    return rows[0]["email"]


def test_forget_erases_everywhere_and_survives_a_full_resync(synced: Warehouse) -> None:
    warehouse = synced
    email = pick_person(warehouse)
    key = email.strip().lower()
    warehouse.gtm("customer", email)  # an access-log row that names the person
    before = places_holding(warehouse, key)
    assert any(place.startswith("raw_intercom.") for place in before)
    assert any(place.startswith("raw_hubspot.") for place in before)
    assert any(place.startswith("raw_calendly.") for place in before)
    assert "ops.access_log.email_key" in before and "ops.alert_history.email_key" in before

    result = warehouse.gtm("forget", f"  {email.upper()} ", "--yes")
    line = result.stdout.strip()
    assert line.count("\n") == 0 and "raw_intercom.contacts 1" in line and line.endswith("rebuilt")
    assert places_holding(warehouse, key) == []
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert warehouse.query("select email_hash from ops.forgotten") == [{"email_hash": digest}]
    audit = json.loads(warehouse.gtm("audit", "--email", email, "--json").stdout)
    assert {row["endpoint"] for row in audit} == {"gtm customer", "gtm forget"}
    assert {row["email_key"] for row in audit} == {f"sha256:{digest}"}

    warehouse.gtm("sync", "--full")
    warehouse.gtm("build")
    assert places_holding(warehouse, key) == []
    assert warehouse.query(
        f"select count(*) as n from marts.unified_customers where email_key = '{key}'"
    ) == [{"n": 0}]

    undo = warehouse.gtm("forget", email, "--undo")
    assert "re-consent recorded" in undo.stdout
    warehouse.gtm("sync", "--full")
    warehouse.gtm("build")
    assert warehouse.query(
        f"select count(*) as n from marts.unified_customers where email_key = '{key}'"
    ) == [{"n": 1}]


def test_forget_rejects_what_is_not_an_email(synced: Warehouse) -> None:
    result = synced.gtm("forget", "not-an-email", "--yes", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["gtm: error: 'not-an-email' is not an email address"]
