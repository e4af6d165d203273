"""`gtm forget` on DuckDB and PostgreSQL: afterwards the email (any case) is in no column of any table; when
the vendors change the person's records, the next sync and build do not bring them back (while another
customer's change does land); the access log keeps only the hash; after `--undo` the next change loads the
person again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import AS_OF, TOKEN, WAREHOUSES, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from fake_slack import FakeSlack
from test_phase2_e2e import crm_env

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast", "main_information_schema")


@dataclass
class Synced:
    warehouse: Warehouse
    box: Sandbox


@pytest.fixture(scope="module", params=WAREHOUSES)
def synced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Synced]:
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
        yield Synced(warehouse, box)
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
    counts = [
        f"select '{column['table_schema']}.{column['table_name']}.{column['column_name']}' as place,"
        f' count(*) as n from "{column["table_schema"]}"."{column["table_name"]}"'
        f" where strpos(lower(cast(\"{column['column_name']}\" as varchar)), '{needle.lower()}') > 0"
        for column in columns
    ]
    # one query for every column, not one connection and query per column
    hits = warehouse.query(f"select place from ({' union all '.join(counts)}) as hits where n > 0")
    return sorted(hit["place"] for hit in hits)


def pick_person(warehouse: Warehouse) -> dict[str, str]:
    """A customer known to all three sources, with an alert and calls: the most places to erase."""
    rows = warehouse.query(
        "select customers.email, customers.intercom_contact_id, customers.hubspot_contact_id"
        " from marts.unified_customers as customers"
        " inner join ops.alert_history as alerts on alerts.email_key = customers.email_key"
        " where customers.hubspot_contact_id is not null and customers.calls_booked_90d > 0"
        " order by customers.email_key limit 1"
    )
    assert rows, "the sandbox has a customer in Intercom, HubSpot and Calendly with an alert"
    return rows[0]


def vendors_change(box: Sandbox, person: dict[str, str], label: str) -> None:
    """The person's Intercom and HubSpot records change, so an incremental sync fetches them again."""
    box.control("POST", f"intercom/contacts/{person['intercom_contact_id']}", {"name": f"Renamed {label}"})
    box.control(
        "POST", f"hubspot/contacts/{person['hubspot_contact_id']}", {"properties": {"jobtitle": label}}
    )


def count(warehouse: Warehouse, sql: str) -> int:
    return warehouse.query(sql)[0]["n"]


def test_forget_erases_everywhere_and_the_next_syncs_keep_it_so(synced: Synced) -> None:
    warehouse, box = synced.warehouse, synced.box
    person = pick_person(warehouse)
    email = person["email"]
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

    other = warehouse.query(
        f"select intercom_contact_id from marts.unified_customers where email_key <> '{key}'"
        " and intercom_contact_id is not null order by email_key limit 1"
    )[0]["intercom_contact_id"]
    box.control("POST", f"intercom/contacts/{other}", {"name": "Someone Renamed"})
    vendors_change(box, person, "after-forget")
    warehouse.gtm("sync")
    warehouse.gtm("build")
    assert count(warehouse, "select count(*) as n from raw_intercom.contacts where name = 'Someone Renamed'")
    assert places_holding(warehouse, key) == []
    assert (
        count(warehouse, f"select count(*) as n from marts.unified_customers where email_key = '{key}'") == 0
    )

    undo = warehouse.gtm("forget", email, "--undo")
    assert "re-consent recorded" in undo.stdout
    vendors_change(box, person, "after-undo")
    warehouse.gtm("sync")
    warehouse.gtm("build")
    assert (
        count(warehouse, f"select count(*) as n from marts.unified_customers where email_key = '{key}'") == 1
    )


def test_forget_rejects_what_is_not_an_email(synced: Synced) -> None:
    result = synced.warehouse.gtm("forget", "not-an-email", "--yes", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["gtm: error: 'not-an-email' is not an email address"]
