"""Phase 2 end to end, as a user runs it: one sandbox, `gtm sync` of Intercom, HubSpot and Calendly,
`gtm build`, on DuckDB and PostgreSQL; the marts checked against tests/expected_crm.py (computed from the
generated records), then an incremental round (merge, owner change, booking, no-show, cancellation) that
fetches only what changed and rebuilds to the new expected values. A failing source does not stop the
others."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, TOKEN, WAREHOUSES, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from expected import HEALTH_SCOPE, email_key_of, expected_customers, well_formed
from expected_crm import Customer, am_scorecard, expected_unified

from sandbox.crm import CRM

CALL_FIELDS = ("calls_booked_90d", "calls_held_90d", "call_no_shows_90d", "days_since_last_call")


def crm_env(box: Sandbox, token: str = TOKEN) -> dict[str, str]:
    return {
        **box.env(token),
        "SOURCES__HUBSPOT__BASE_URL": f"{box.url}/hubspot",
        "SOURCES__HUBSPOT__ACCESS_TOKEN": token,
        "SOURCES__HUBSPOT__SETTLE_SECONDS": "0",  # records change right before a sync here
        "SOURCES__CALENDLY__BASE_URL": f"{box.url}/calendly",
        "SOURCES__CALENDLY__ACCESS_TOKEN": token,
        "SOURCES__CALENDLY__INITIAL_DAYS": "3650",  # the loader's window uses the real clock, not AS_OF
    }


class Run:
    """The warehouse, the sandbox and when the first sync started (the Calendly no-show window)."""

    def __init__(self, warehouse: Warehouse, box: Sandbox, first_sync_started: float) -> None:
        self.warehouse, self.box, self.crm = warehouse, box, box.server.crm
        self.first_sync_started = first_sync_started


@pytest.fixture(scope="module", params=WAREHOUSES)
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Run]:
    """One sandbox with all three sources synced and built once per warehouse; the tests run in order."""
    box = Sandbox(customers=200, seed=23, token=TOKEN, anchor=AS_OF, rate_limit=100_000)
    crm: CRM = box.server.crm
    # a HubSpot-only person who became a customer: tenure then counts from the HubSpot createdate
    p = next(p for p in range(crm.customers, crm.person_count) if crm.origin(p) == "hubspot_only")
    box.control(
        "POST", f"hubspot/contacts/{crm.contact_id(p)}", {"properties": {"lifecyclestage": "customer"}}
    )
    warehouse, database = new_warehouse(
        request.param, tmp_path_factory.mktemp(f"p2-{request.param}"), dbt_dirs
    )
    warehouse.env.update(crm_env(box))
    started = time.time()
    warehouse.gtm("sync")
    warehouse.gtm("build")
    yield Run(warehouse, box, started)
    box.close()
    if database:
        _drop_postgres_database(database)


def expected_now(run: Run) -> dict[str, Customer]:
    contacts = list(run.box.company.contacts())
    winners: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        key = email_key_of(contact)
        if key is None or not well_formed(
            contact, ("created_at", "updated_at", "signed_up_at", "last_seen_at")
        ):
            continue
        if key not in winners or contact["updated_at"] > winners[key]["updated_at"]:
            winners[key] = contact
    intercom = expected_customers(contacts, run.box.company.conversations(), AS_OF)
    return expected_unified(intercom, winners, run.crm, AS_OF)


def as_decimal(value: Any, places: str = "0.01") -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal(places))


def assert_marts_match(run: Run) -> dict[str, Customer]:
    expected = expected_now(run)
    rows = run.warehouse.query("select * from marts.unified_customers")
    actual = {row["email_key"]: row for row in rows}
    assert len(rows) == len(actual), "one row per customer"
    assert set(actual) == set(expected)
    mismatches = []
    for key, want in expected.items():
        got = actual[key]
        facts = want.crm
        am = facts.am_owner_id if facts else None
        checks = {
            "source_count": (got["source_count"], want.source_count),
            "match_confidence": (got["match_confidence"], want.match_confidence),
            "hubspot_contact_id": (got["hubspot_contact_id"], facts.hubspot_contact_id if facts else None),
            "assigned_am_owner_id": (got["assigned_am_owner_id"], am),
            "am_has_left": (got["am_has_left"], None if am is None else am == "41000006"),
            "lifecycle_stage": (got["lifecycle_stage"], facts.lifecycle_stage if facts else None),
            "company_name": (got["company_name"], facts.company_name if facts else None),
            "deal_stage": (got["deal_stage"], facts.deal_stage if facts else None),
            "open_deal_value": (
                as_decimal(got["open_deal_value"]),
                as_decimal(facts.open_deal_value) if facts else None,
            ),
            "call_show_rate": (
                as_decimal(got["call_show_rate"], "0.0001"),
                as_decimal(facts.call_show_rate, "0.0001") if facts else None,
            ),
            "health_score": (got["health_score"], want.row.health_score),
            "health_status": (got["health_status"], want.row.health_status),
            "risk_signals": (got["risk_signals"], ",".join(want.row.risk_signals)),
        }
        for name in CALL_FIELDS:  # Calendly is synced: no booking means 0 calls (days since: null)
            default = None if name == "days_since_last_call" else 0
            checks[name] = (got[name], getattr(facts, name) if facts and facts.calls else default)
        if not want.intercom:
            checks["email"] = (got["email"], want.email)
            checks["name"] = (got["name"], want.name)
        mismatches += [(key, name, g, w) for name, (g, w) in checks.items() if g != w]
    assert mismatches == [], mismatches[:10]
    return expected


def test_every_customer_matches_the_independent_values(run: Run) -> None:
    expected = assert_marts_match(run)
    sources = {customer.sources for customer in expected.values()}
    assert ("intercom", "hubspot", "calendly") in sources and ("intercom", "hubspot") in sources
    # the data exercises every rule: both AM rules, an AM who left, call-based engagement, HubSpot tenure
    facts = [c.crm for c in expected.values() if c.crm is not None]
    assert {f.am_source for f in facts} >= {"hubspot_owner", "calendly_host"}
    rows = run.warehouse.query(
        "select engagement_basis, tenure_basis, am_assignment_source, am_has_left, count(*) as n "
        "from marts.unified_customers group by 1, 2, 3, 4"
    )
    assert {r["engagement_basis"] for r in rows} >= {"call_show_rate", None}
    assert {r["tenure_basis"] for r in rows} >= {"intercom_signup", "hubspot_createdate", None}
    assert any(r["am_has_left"] for r in rows)


def test_hubspot_only_and_calendly_only_people_get_a_row(run: Run) -> None:
    expected = expected_now(run)
    only = {
        source: {k for k, c in expected.items() if c.sources == (source,)}
        for source in ("hubspot", "calendly")
    }
    assert only["hubspot"] and only["calendly"]
    rows = run.warehouse.query(
        "select email_key, source_count, match_confidence, intercom_contact_id, hubspot_contact_id, "
        "calls_booked_90d, health_status from marts.unified_customers"
    )
    by_key = {r["email_key"]: r for r in rows}
    for source, keys in only.items():
        for key in keys:
            row = by_key[key]
            assert (row["source_count"], row["match_confidence"], row["intercom_contact_id"]) == (
                1,
                "medium",
                None,
            )
            assert (row["hubspot_contact_id"] is not None) == (source == "hubspot")


def test_duplicates_merges_and_case_variants_never_duplicate_a_customer(run: Run) -> None:
    crm = run.crm
    people = {slot: [p for p in range(crm.customers) if p % 100 == slot] for slot in (7, 54, 57)}
    key = crm.person(people[7][0])["email"]  # Intercom has 7 and 8 (same email up to case); HubSpot merged 8
    rows = run.warehouse.query(
        "select email_key, hubspot_contact_id, source_count from marts.unified_customers "
        f"where email_key = '{key}'"
    )
    assert len(rows) == 1 and rows[0]["hubspot_contact_id"] == crm.contact_id(people[7][0])
    assert rows[0]["source_count"] >= 2
    # HubSpot's Title.Case@UPPER email (54) and Calendly's "  Messy@Email " (57) match their Intercom person
    for slot in (54, 57):
        key = crm.person(people[slot][0])["email"]
        rows = run.warehouse.query(
            f"select source_count, match_confidence from marts.unified_customers where email_key = '{key}'"
        )
        assert len(rows) == 1 and rows[0]["source_count"] >= 2 and rows[0]["match_confidence"] == "high"


def test_am_scorecard_matches_the_independent_values(run: Run) -> None:
    expected = am_scorecard(expected_now(run), run.crm, AS_OF)
    rows = {r["am_owner_id"]: r for r in run.warehouse.query("select * from marts.am_scorecard")}
    assert set(rows) == set(expected)
    for owner_id, want in expected.items():
        got = rows[owner_id]
        actual = {name: got[name] for name in want}
        for name in ("mrr", "at_risk_mrr", "avg_health_score"):
            actual[name] = as_decimal(actual[name])
        actual["call_show_rate"] = as_decimal(actual["call_show_rate"], "0.0001")
        assert actual == {
            **want,
            "mrr": as_decimal(want["mrr"]),
            "at_risk_mrr": as_decimal(want["at_risk_mrr"]),
        }
    assert sum(r["customers"] for r in rows.values()) == sum(
        1
        for c in expected_now(run).values()
        if c.crm and c.crm.am_owner_id and c.row.customer_stage in HEALTH_SCOPE
    )


def test_new_risk_signals_carry_their_recommended_action(run: Run) -> None:
    rows = run.warehouse.query(
        "select signal, count(*) as n, min(recommended_action) as action, min(action_owner) as owner "
        "from marts.customer_risk_signals "
        "where signal in ('repeated_no_shows', 'no_owner_on_paying_account', 'deal_lost') group by signal"
    )
    found = {r["signal"]: r for r in rows}
    assert set(found) == {"repeated_no_shows", "no_owner_on_paying_account", "deal_lost"}
    assert all(r["action"] and r["owner"] for r in rows)
    # slot 59 people: three no-shows in the last 90 days
    keys = [run.crm.person(p)["email"] for p in range(run.crm.customers) if p % 100 == 59]
    flagged = run.warehouse.query(
        "select email_key from marts.customer_risk_signals where signal = 'repeated_no_shows'"
    )
    assert set(keys) <= {r["email_key"] for r in flagged}


def test_cli_filters_by_account_manager(run: Run) -> None:
    everyone = run.warehouse.query("select assigned_am, assigned_am_email, mrr from marts.at_risk_customers")
    name = next(r["assigned_am"] for r in everyone if r["assigned_am"])
    mine = [r for r in everyone if r["assigned_am"] == name]
    result = run.warehouse.gtm("at-risk", "--am", name.upper(), "--limit", "1000", "--json")
    listed = json.loads(result.stdout)
    assert len(listed) == len(mine) and {r["assigned_am"] for r in listed} == {name}
    email = next(r["assigned_am_email"] for r in mine)
    summary = json.loads(run.warehouse.gtm("summary", "--am", email, "--json").stdout)
    total = run.warehouse.query(
        "select count(*) as n from marts.unified_customers"
        f" where assigned_am_email = '{email}' and is_in_health_scope"
    )[0]["n"]
    assert summary["total_customers"] == total and summary["account_manager"] == name
    missing = run.warehouse.gtm("at-risk", "--am", "Nobody Atall", check=False)
    assert missing.returncode != 0 and "Nobody Atall" in missing.stderr


def test_incremental_sync_fetches_only_what_changed(run: Run) -> None:
    box, crm = run.box, run.crm
    plain = [
        p
        for p in range(crm.customers)
        if crm.slot(p) is None and run.box.company.slot(p) is None and crm.contact_exists(p)
    ]
    survivor, merged, reassigned = plain[0], plain[1], plain[2]
    box.control(
        "POST",
        "hubspot/contacts/merge",
        {"primaryObjectId": crm.contact_id(survivor), "objectIdToMerge": crm.contact_id(merged)},
    )
    box.control(
        "POST",
        f"hubspot/contacts/{crm.contact_id(reassigned)}",
        {"properties": {"hubspot_owner_id": "41000003"}},
    )
    unowned = next(p for p in range(crm.customers) if crm.slot(p) == "no_owner")
    booked = box.control(
        "POST",
        "calendly/scheduled_events",
        {
            "email": crm.person(unowned)["email"].upper(),
            "name": "Booked Late",
            "start_time": "2026-11-19T10:00:00Z",
            "host": 2,
        },
    )
    uuid = booked["resource"]["uri"].rsplit("/", 1)[-1]
    invitee = crm.event_record(*crm.event_position(uuid))[1][0]["uri"]
    box.control("POST", "calendly/invitee_no_shows", {"invitee": invitee})
    future = next(
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active" and crm.event_start(p, e) > time.time() + 86_400
    )
    box.control(
        "POST", f"calendly/scheduled_events/{crm.event_uuid(*future)}/cancellation", {"reason": "Sick"}
    )
    box.reset_stats()
    run.warehouse.gtm("sync")
    finished = time.time()
    seen = box.stats()["requests"]
    touched = {p // 4 for p in (survivor, merged)}
    deals_changed = sum(crm.deal_count(c) for c in touched)
    assert {path: n for path, n in seen.items() if "/hubspot/" in path} == {
        "POST /hubspot/crm/v3/objects/contacts/search": 1,
        "POST /hubspot/crm/v3/objects/companies/search": 1,
        "POST /hubspot/crm/v3/objects/deals/search": 1,
        "GET /hubspot/crm/v3/owners": 2,
        **({"POST /hubspot/crm/v4/associations/deals/contacts/batch/read": 1} if deals_changed else {}),
    }
    # Calendly: the two changed events, plus the calls that ended in the no-show window since the first sync
    window_start = run.first_sync_started - 3 * 86_400 - 3600
    in_window = sum(
        1
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active"
        and window_start
        <= datetime.fromisoformat(crm.event_record(p, e)[0]["end_time"].replace("Z", "+00:00")).timestamp()
        <= finished
    )
    invitee_requests = sum(n for path, n in seen.items() if path.endswith("/invitees"))
    assert 2 <= invitee_requests <= 2 + in_window
    events = sum(1 for _ in crm.event_positions())
    assert seen["GET /calendly/scheduled_events"] < math.ceil(events / 100)
    assert seen["GET /calendly/users/me"] == 1
    run.warehouse.gtm("build")
    expected = assert_marts_match(run)
    merged_key = crm.person(merged)["email"]
    assert expected[merged_key].crm is None or expected[merged_key].crm.hubspot_contact_id is None
    rows = run.warehouse.query(
        "select count(*) as n from marts.unified_customers "
        f"where hubspot_contact_id = '{crm.contact_id(merged)}'"
    )
    assert rows == [{"n": 0}]
    late = run.warehouse.query(
        "select call_no_shows_90d, assigned_am, am_assignment_source from marts.unified_customers "
        f"where email_key = '{crm.person(unowned)['email']}'"
    )
    assert late[0]["call_no_shows_90d"] >= 1


@pytest.mark.parametrize("kind", WAREHOUSES)
def test_a_failing_source_does_not_stop_the_others(
    kind: str, sandbox: Sandbox, tmp_path: Path, dbt_dirs: Path
) -> None:
    warehouse, database = new_warehouse(kind, tmp_path, dbt_dirs)
    try:
        env = crm_env(sandbox)
        env["SOURCES__HUBSPOT__ACCESS_TOKEN"] = "wrong-token"  # HubSpot fails with 401
        del env["SOURCES__CALENDLY__ACCESS_TOKEN"]  # Calendly is not configured: skipped
        warehouse.env.update(env)
        result = warehouse.gtm("sync", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "hubspot" in result.stderr and "SOURCES__HUBSPOT__ACCESS_TOKEN" in result.stderr
        assert "calendly: skipped" in output and "wrong-token" not in output and TOKEN not in output
        assert warehouse.query("select count(*) as n from raw_intercom.contacts")[0]["n"] > 0
        log = warehouse.query("select source, status from ops.sync_log order by source")
        assert log == [{"source": "hubspot", "status": "failed"}, {"source": "intercom", "status": "success"}]
    finally:
        if database:
            _drop_postgres_database(database)
