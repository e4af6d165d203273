"""The HubSpot and Calendly loaders against the sandbox over real HTTP, into a real DuckDB through dlt: counts
match the generated data, incremental syncs fetch only what changed, the search cap is windowed, merged
contacts stay recognisable, malformed records are quarantined, 401s fail and 429s are waited out."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import requests
from conftest import PROJECT_DIR, TOKEN

from loaders import SOURCES
from loaders.calendly.helpers import (
    SyncPlan,
    needs_invitees,
    sync_plan,
    typed_event,
)
from loaders.common import RetryingSession
from loaders.hubspot.helpers import (
    past_cap,
    search_body,
    typed_contact,
    typed_deal,
)
from sandbox import SandboxServer, start_in_thread
from sandbox.crm import CRM, parse_time


class Box:
    """A sandbox plus a DuckDB warehouse; `sync(name)` runs a loader as gtm sync does and counts requests."""

    def __init__(self, server: SandboxServer, workdir: Path) -> None:
        self.server, self.crm, self.workdir = server, server.crm, workdir
        self.waits: list[float] = []

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.server.base_url}/_sandbox/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def pipeline(self, name: str) -> dlt.Pipeline:
        return dlt.pipeline(
            pipeline_name=f"test_{name}",
            destination=dlt.destinations.duckdb(str(self.workdir / "gtm.duckdb")),
            dataset_name=f"raw_{name}",
            pipelines_dir=str(self.workdir / "pipelines"),
        )

    def sync(self, name: str, token: str = TOKEN, **options: Any) -> dict[str, Any]:
        """Run one source; returns requests the loader made, the requests the sandbox saw per path, rows."""
        self.control("POST", "stats/reset", {})
        session = RetryingSession(sleep=self.waits.append)
        source = SOURCES[name].load()(
            access_token=token, base_url=f"{self.server.base_url}/{name}", session=session, **options
        )
        pipeline = self.pipeline(name)
        pipeline.run(source)
        rows = dict(pipeline.last_trace.last_normalize_info.row_counts)
        return {"made": session.requests_made, "requests": self.stats()["requests"], "rows": rows}

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.workdir / "gtm.duckdb"), read_only=True) as connection:
            return connection.execute(sql).fetchall()


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    server = start_in_thread(customers=200, seed=5, token=TOKEN)  # anchor: today, like a real account
    yield Box(server, tmp_path)
    server.shutdown()
    server.server_close()


def per_path(requests_seen: dict[str, int], fragment: str) -> int:
    return sum(count for path, count in requests_seen.items() if fragment in path)


def live_contacts(crm: CRM) -> list[int]:
    return [p for p in range(crm.person_count) if crm.contact_exists(p)]


def all_deals(crm: CRM) -> list[tuple[int, int]]:
    return [(c, k) for c in range(crm.company_count) for k in range(crm.deal_count(c))]


# ---- HubSpot ------------------------------------------------------------------------------------------
def test_hubspot_full_sync_lands_everything_at_the_minimum_of_requests(box: Box) -> None:
    crm = box.crm
    contacts, deals = live_contacts(crm), all_deals(crm)
    result = box.sync("hubspot", settle_seconds=0)
    seen = result["requests"]
    assert seen == {
        "POST /hubspot/crm/v3/objects/contacts/search": math.ceil(len(contacts) / 200),
        "POST /hubspot/crm/v3/objects/companies/search": math.ceil(crm.company_count / 200),
        "POST /hubspot/crm/v3/objects/deals/search": math.ceil(len(deals) / 200),
        "POST /hubspot/crm/v4/associations/deals/contacts/batch/read": 1,
        "GET /hubspot/crm/v3/owners": 2,  # active, then archived owners
    }
    assert result["made"] == sum(seen.values())
    malformed_contacts = [p for p in contacts if crm.slot(p) == "malformed_createdate"]
    malformed_deals = [(c, k) for c, k in deals if crm.deal_slot(c) == "deal_malformed_amount"]
    assert box.query("select count(*) from raw_hubspot.contacts") == [
        (len(contacts) - len(malformed_contacts),)
    ]
    assert box.query("select count(*) from raw_hubspot.companies") == [(crm.company_count,)]
    assert box.query("select count(*) from raw_hubspot.deals") == [(len(deals) - len(malformed_deals),)]
    assert box.query("select count(*), count(*) filter (where archived) from raw_hubspot.owners") == [(7, 1)]
    assert sorted(box.query("select entity, reason, record_id from raw_hubspot.quarantine")) == sorted(
        [
            (
                "contacts",
                "createdate is not an ISO 8601 timestamp: '2024-13-45T00:00:00.000Z'",
                crm.contact_id(p),
            )
            for p in malformed_contacts
        ]
        + [("deals", "amount is not a number: '1,200.00'", crm.deal_id(c, k)) for c, k in malformed_deals]
    )
    # deal -> contacts as HubSpot associates them; the child table joins on _dlt_parent_id = _dlt_id
    linked = box.query(
        "select d.id, list(a.id order by a._dlt_list_idx) from raw_hubspot.deals as d "
        "join raw_hubspot.deals__associations__contacts as a on a._dlt_parent_id = d._dlt_id group by d.id"
    )
    expected = {crm.deal_id(c, k): crm.deal_contacts(c, k) for c, k in deals if crm.deal_contacts(c, k)}
    assert dict(linked) == {deal_id: ids for deal_id, ids in expected.items() if deal_id in dict(linked)}
    assert len(linked) == len(
        [d for d in expected if d not in {crm.deal_id(c, k) for c, k in malformed_deals}]
    )
    typed = box.query(
        "select properties__lastmodifieddate, properties__lifecyclestage, properties__hubspot_owner_id "
        "from raw_hubspot.contacts "
        f"where id = '{crm.contact_id(56)}'"
    )
    record = crm.contact_record(56)["properties"]
    assert typed[0][0].timestamp() == pytest.approx(parse_time(record["lastmodifieddate"]), abs=0.001)
    assert typed[0][1:] == (record["lifecyclestage"], "41000006")  # owned by the AM who left


def test_hubspot_incremental_fetches_only_what_changed(box: Box) -> None:
    crm = box.crm
    box.sync("hubspot", settle_seconds=0)
    assert box.sync("hubspot", settle_seconds=0)["requests"] == {
        "POST /hubspot/crm/v3/objects/contacts/search": 1,
        "POST /hubspot/crm/v3/objects/companies/search": 1,
        "POST /hubspot/crm/v3/objects/deals/search": 1,
        "GET /hubspot/crm/v3/owners": 2,
    }
    c, k = next((c, k) for c, k in all_deals(crm) if crm.deal_slot(c) is None)
    box.control(
        "POST", f"hubspot/contacts/{crm.contact_id(21)}", {"properties": {"lifecyclestage": "evangelist"}}
    )
    box.control("POST", f"hubspot/deals/{crm.deal_id(c, k)}", {"properties": {"dealstage": "closedlost"}})
    result = box.sync("hubspot", settle_seconds=0)
    assert (
        result["rows"]["contacts"] == 1 and result["rows"]["deals"] == 1 and "companies" not in result["rows"]
    )
    assert per_path(result["requests"], "batch/read") == 1 and result["made"] == 6
    assert box.query(
        f"select properties__lifecyclestage from raw_hubspot.contacts where id = '{crm.contact_id(21)}'"
    ) == [("evangelist",)]
    assert box.query(
        f"select properties__dealstage from raw_hubspot.deals where id = '{crm.deal_id(c, k)}'"
    ) == [("closedlost",)]
    assert box.query("select count(*) from raw_hubspot.contacts") == [
        (len(live_contacts(crm)) - 2,)
    ]  # no duplicates


def test_hubspot_windows_below_the_search_cap(box: Box) -> None:
    crm = box.crm
    box.server.vendors["hubspot"].search_cap = 100  # HubSpot's 10,000, scaled down so it is cheap to exercise
    with pytest.raises(Exception, match="400"):  # a loader paging blindly past the cap fails like on HubSpot
        box.sync("hubspot", page_size=50, settle_seconds=0)
    result = box.sync("hubspot", page_size=50, search_cap=100, settle_seconds=0)
    assert result["requests"].get("400", 0) == 0 and box.stats()["statuses"] == {"200": result["made"]}
    contacts = live_contacts(crm)
    assert (
        box.query("select count(*), count(distinct id) from raw_hubspot.contacts")[0][0] == len(contacts) - 2
    )
    searches = per_path(result["requests"], "contacts/search")
    # a new window every 2 pages; each window re-reads the boundary record(s) of the last one
    assert (
        math.ceil(len(contacts) / 50)
        <= searches
        <= math.ceil(len(contacts) / 50) + math.ceil(len(contacts) / 100)
    )


def test_merged_contacts_stay_recognisable(box: Box) -> None:
    crm = box.crm
    box.sync("hubspot", settle_seconds=0)
    survivor, merged = crm.contact_id(40), crm.contact_id(41)
    box.control("POST", "hubspot/contacts/merge", {"primaryObjectId": survivor, "objectIdToMerge": merged})
    box.sync("hubspot", settle_seconds=0)
    # the merged-away contact was loaded earlier and HubSpot no longer returns it: it stays in raw, and the
    # survivor's merged ids name it, so staging drops it
    merged_ids = box.query(
        "select c.id, m.value from raw_hubspot.contacts as c "
        "join raw_hubspot.contacts__merged_object_ids as m on m._dlt_parent_id = c._dlt_id"
    )
    assert (survivor, merged) in merged_ids and (crm.contact_id(7), crm.contact_id(8)) in merged_ids
    remaining = box.query(
        "select count(*) from raw_hubspot.contacts "
        "where id not in (select value from raw_hubspot.contacts__merged_object_ids)"
    )
    assert remaining == [(len(live_contacts(crm)) - 2,)]  # 2 malformed contacts are quarantined


def test_hubspot_401_fails_and_429_is_waited_out(box: Box) -> None:
    with pytest.raises(Exception) as failure:
        box.sync("hubspot", token="wrong")
    assert "401" in str(failure.value) and box.stats()["total"] == 1  # no retries of a rejected token
    box.control(
        "POST",
        "faults",
        {"path_prefix": "/hubspot/crm/v3/objects/contacts", "status": 429, "count": 2, "retry_after": 2},
    )
    box.control("POST", "faults", {"path_prefix": "/hubspot/crm/v3/owners", "status": 503, "count": 1})
    result = box.sync("hubspot", settle_seconds=0)
    assert box.waits[:2] == [2.0, 2.0]  # HubSpot's window length, not a blind backoff
    assert result["made"] == sum(result["requests"].values()) and result["rows"]["contacts"] > 0


# ---- Calendly -----------------------------------------------------------------------------------------
def listed_since(crm: CRM, since: float) -> list[tuple[int, int]]:
    return [(p, e) for p, e in crm.event_positions() if crm.event_start(p, e) >= since]


class InFlight(RetryingSession):
    """A session that holds each request to a path containing `fragment` a moment and records how many
    were in flight at once."""

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self.fragment = fragment
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def send(self, request: Any, **kwargs: Any) -> Any:
        if self.fragment not in request.url:
            return super().send(request, **kwargs)
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(0.02)  # a round trip, so that requests sent together overlap
            return super().send(request, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_calendly_reads_invitees_concurrently_in_the_events_order(box: Box, concurrency: int) -> None:
    session = InFlight("/invitees")
    source = SOURCES["calendly"].load()(
        access_token=TOKEN,
        base_url=f"{box.server.base_url}/calendly",
        session=session,
        concurrency=concurrency,
    )
    events, invitees = [], []
    source.resources["scheduled_events"].add_map(lambda event: events.append(event.get("uri")) or event)
    source.resources["invitees"].add_map(lambda invitee: invitees.append(invitee.get("event")) or invitee)
    box.pipeline("calendly").run(source)
    assert session.peak == concurrency
    loaded = box.query("select count(*) from raw_calendly.invitees")[0][0]
    assert len(invitees) == loaded == session.requests_made - 1 - math.ceil(len(events) / 100)
    # within each page of events dlt hands the transformer, the invitees come in the events' order, as they
    # did one request at a time (dlt takes turns between pages)
    order = {uri: position for position, uri in enumerate(events)}
    positions = [order[uri] for uri in invitees]
    for page in range(math.ceil(len(events) / 100)):
        of_page = [position for position in positions if position // 100 == page]
        assert of_page == sorted(of_page) and len(of_page) > 1


def test_calendly_full_sync_reads_each_events_invitees_once(box: Box) -> None:
    crm = box.crm
    started = time.time()
    result = box.sync("calendly")
    events = listed_since(crm, started - 365 * 86_400)
    malformed = [(p, e) for p, e in events if crm.slot(p) == "malformed_event_start" and e == 0]
    seen = result["requests"]
    assert per_path(seen, "/users/me") == 1
    assert seen["GET /calendly/scheduled_events"] == math.ceil(len(events) / 100)
    assert per_path(seen, "/invitees") == len(events) - len(malformed)  # the minimum: one per event
    assert box.query("select count(*) from raw_calendly.scheduled_events") == [
        (len(events) - len(malformed),)
    ]
    assert box.query("select count(*) from raw_calendly.invitees") == [(len(events) - len(malformed),)]
    assert box.query("select entity, reason from raw_calendly.quarantine") == [
        ("scheduled_events", "start_time is not an ISO 8601 timestamp: '2024-13-45T10:00:00.000000Z'")
    ] * len(malformed)
    no_shows = box.query("select count(*) from raw_calendly.invitees where no_show__uri is not null")[0][0]
    assert no_shows == sum(
        1 for p, e in events if (p, e) not in malformed and crm.event_record(p, e)[1][0]["no_show"]
    )
    hosts = box.query(
        "select m.user_email, count(*) from raw_calendly.scheduled_events as e "
        "join raw_calendly.scheduled_events__event_memberships "
        "as m on m._dlt_parent_id = e._dlt_id where m._dlt_list_idx = 0 group by 1"
    )
    assert {email.lower() for email, _ in hosts} <= {crm.owner_email(i) for i in range(7)}


def test_calendly_incremental_reads_changed_events_and_the_no_show_window(box: Box) -> None:
    crm = box.crm
    box.sync("calendly")
    state = box.pipeline("calendly").state["sources"]["calendly"]["resources"]["scheduled_events"]
    synced_at = parse_time(state["synced_at"])
    future = next(
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active" and crm.event_start(p, e) > time.time() + 86_400
    )
    past = next(
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active"
        and crm.event_start(p, e) < time.time() - 30 * 86_400
        and not crm.event_record(p, e)[1][0]["no_show"]
    )
    box.control(
        "POST", f"calendly/scheduled_events/{crm.event_uuid(*future)}/cancellation", {"reason": "Out sick"}
    )
    box.control(
        "POST",
        "calendly/scheduled_events",
        {"email": "New.Booker@Example.com", "start_time": "2030-01-07T10:00:00Z"},
    )
    result = box.sync("calendly")
    state = box.pipeline("calendly").state["sources"]["calendly"]["resources"]["scheduled_events"]
    now = parse_time(state["synced_at"])  # when the second sync started: its "now"
    ended_in_window = {
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active"
        and synced_at - 3 * 86_400 <= (parse_time(crm.event_record(p, e)[0]["end_time"]) or 0) <= now
    }
    # the canceled and the new event, plus the calls that ended where a no-show may have been marked since
    assert per_path(result["requests"], "/invitees") == len(ended_in_window | {future}) + 1
    listing = result["requests"]["GET /calendly/scheduled_events"]
    assert listing == math.ceil(len(listed_since(crm, synced_at - 4 * 86_400)) / 100)
    assert box.query(
        f"select status from raw_calendly.scheduled_events where uri = '{crm.event_uri(*future)}'"
    ) == [("canceled",)]
    assert box.query("select email from raw_calendly.invitees where email = 'New.Booker@Example.com'") == [
        ("New.Booker@Example.com",)
    ]
    # a no-show marked on an old call (outside the window) is not seen by an incremental sync: documented
    invitee = crm.event_record(*past)[1][0]["uri"]
    box.control("POST", "calendly/invitee_no_shows", {"invitee": invitee})
    box.sync("calendly")
    assert box.query(f"select no_show__uri from raw_calendly.invitees where uri = '{invitee}'") == [(None,)]


def test_calendly_401_and_429(box: Box) -> None:
    with pytest.raises(Exception) as failure:
        box.sync("calendly", token="wrong")
    assert "401" in str(failure.value) and box.stats()["total"] == 1
    box.control(
        "POST",
        "faults",
        {"path_prefix": "/calendly/scheduled_events", "status": 429, "count": 2, "retry_after": 3},
    )
    result = box.sync("calendly", initial_days=30)
    assert box.waits[:2] == [3.0, 3.0]  # X-RateLimit-Reset is seconds from now in Calendly
    assert result["rows"]["scheduled_events"] > 0


def test_gtm_sync_runs_the_new_sources_by_registry_and_config(box: Box, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GTM_WAREHOUSE": "duckdb",
        "GTM_DUCKDB_PATH": str(tmp_path / "cli.duckdb"),
        "GTM_PIPELINES_DIR": str(tmp_path / "cli-pipelines"),
        "GTM_SOURCES": "",
        "SOURCES__HUBSPOT__BASE_URL": f"{box.server.base_url}/hubspot",
        "SOURCES__HUBSPOT__ACCESS_TOKEN": TOKEN,
        "SOURCES__HUBSPOT__SETTLE_SECONDS": "0",
        "SOURCES__CALENDLY__BASE_URL": f"{box.server.base_url}/calendly",
        "SOURCES__CALENDLY__ACCESS_TOKEN": "wrong-token",
        "SOURCES__CALENDLY__INITIAL_DAYS": "30",
    }
    env.pop("SOURCES__INTERCOM__ACCESS_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "gtm.cli", "sync"],
        cwd=PROJECT_DIR,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "calendly" in output and "SOURCES__CALENDLY__ACCESS_TOKEN" in output
    assert TOKEN not in output and "wrong-token" not in output
    with duckdb.connect(str(tmp_path / "cli.duckdb"), read_only=True) as connection:
        assert connection.execute("select count(*) from raw_hubspot.contacts").fetchone()[0] > 0


# ---- pure helpers -------------------------------------------------------------------------------------
def test_search_body_and_cap_arithmetic() -> None:
    body = search_body("lastmodifieddate", 5, 9, ("email",), 200, "400")
    assert body["filterGroups"][0]["filters"] == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "5"},
        {"propertyName": "lastmodifieddate", "operator": "LT", "value": "9"},
    ]
    assert (
        body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
        and body["after"] == "400"
    )
    assert not past_cap("9800", 200, 10_000) and past_cap("10000", 200, 10_000)


def test_record_typing_and_quarantine_reasons() -> None:
    contact = {
        "id": "1",
        "properties": {"lastmodifieddate": "2026-01-02T03:04:05Z", "hs_merged_object_ids": "7;9"},
    }
    typed, problem = typed_contact(contact)
    assert problem is None and typed["merged_object_ids"] == ["7", "9"]
    assert typed["properties"]["lastmodifieddate"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert typed_contact({"id": "1", "properties": {}})[1] == "lastmodifieddate is missing"
    assert (
        typed_deal(
            {"id": "2", "properties": {"hs_lastmodifieddate": "2026-01-02T03:04:05.123Z", "amount": "12k"}}
        )[1]
        == "amount is not a number: '12k'"
    )
    assert (
        typed_event({"uri": "u", "start_time": "x"})[1] == "end_time is missing"
        or typed_event({"uri": "u", "start_time": "x"})[1]
    )


def test_no_show_window_plan() -> None:
    now = datetime(2026, 5, 10, tzinfo=timezone.utc)
    first = sync_plan({}, now, initial_days=365)
    assert first.changed_after is None and first.min_start_time == now - timedelta(days=365)
    later = sync_plan(
        {"synced_at": "2026-05-09T00:00:00.000000Z", "updated_at": "2026-05-08T12:00:00.000000Z"}, now, 365, 3
    )
    assert later.no_show_from == datetime(
        2026, 5, 6, tzinfo=timezone.utc
    ) and later.min_start_time == datetime(2026, 5, 5, tzinfo=timezone.utc)
    old = {"updated_at": datetime(2026, 4, 1, tzinfo=timezone.utc), "status": "active"}
    assert needs_invitees({**old, "end_time": datetime(2026, 5, 7, tzinfo=timezone.utc)}, later)
    assert not needs_invitees({**old, "end_time": datetime(2026, 5, 1, tzinfo=timezone.utc)}, later)
    assert not needs_invitees(
        {**old, "end_time": datetime(2026, 6, 1, tzinfo=timezone.utc)}, later
    )  # future, unchanged
    assert needs_invitees(
        {**old, "updated_at": datetime(2026, 5, 9, 1, tzinfo=timezone.utc), "end_time": now}, later
    )
    assert isinstance(later, SyncPlan) and requests is not None
