"""The sandbox's HubSpot and Calendly parts: the same people as Intercom with CRM mess, their wire formats
over real HTTP (search paging and its cap, owners, associations, page tokens, auth, rate limits), control
routes."""

from __future__ import annotations

import datetime
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox import Company, SandboxServer, start_in_thread
from sandbox.crm import CRM, OWNERS, clean_email, parse_time

ANCHOR = datetime.date(2026, 11, 20)


def call(
    server: SandboxServer, method: str, path: str, body: Any = None, token: str | None = "sandbox"
) -> tuple[int, Any, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.base_url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.load(error)


def search_all(server: SandboxServer, object_type: str, body: dict[str, Any]) -> list[dict]:
    """Every result of a HubSpot search, following paging.next.after."""
    results: list[dict] = []
    after = None
    while True:
        status, _, page = call(
            server,
            "POST",
            f"/hubspot/crm/v3/objects/{object_type}/search",
            {**body, **({"after": after} if after else {})},
        )
        assert status == 200, page
        results += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            assert len(results) == page["total"]
            return results


def events_all(server: SandboxServer, **params: Any) -> list[dict]:
    """Every scheduled event of a Calendly listing, following pagination.next_page_token."""
    events: list[dict] = []
    token = None
    while True:
        query = {**params, **({"page_token": token} if token else {})}
        status, _, page = call(server, "GET", f"/calendly/scheduled_events?{urlencode(query)}")
        assert status == 200, page
        events += page["collection"]
        token = page["pagination"]["next_page_token"]
        if token is None:
            return events


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    server = start_in_thread(customers=200, seed=42, anchor=ANCHOR)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh() -> Iterator[SandboxServer]:
    server = start_in_thread(customers=200, seed=42, anchor=ANCHOR)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def crm() -> CRM:
    return CRM(Company(seed=42, customers=200, anchor=ANCHOR))


@pytest.fixture(scope="module")
def contacts(crm: CRM) -> dict[int, dict]:
    return {p: crm.contact_record(p) for p in range(crm.person_count) if crm.contact_exists(p)}


@pytest.fixture(scope="module")
def events(crm: CRM) -> list[tuple[dict, list[dict]]]:
    return [crm.event_record(p, e) for p, e in crm.event_positions()]


# ---- generator ----------------------------------------------------------------------------------------
def test_deterministic_and_other_seeds_differ() -> None:
    def dump(seed: int) -> str:
        crm = CRM(Company(seed=seed, customers=120, anchor=ANCHOR))
        return json.dumps(
            [
                [crm.contact_record(p) for p in range(crm.person_count) if crm.contact_exists(p)],
                [crm.deal_record(c, k) for c in range(crm.company_count) for k in range(crm.deal_count(c))],
                [crm.event_record(p, e) for p, e in crm.event_positions()],
            ]
        )

    assert dump(7) == dump(7)
    assert dump(7) != dump(8)


def test_the_same_people_as_intercom_with_email_mess(crm: CRM, contacts: dict[int, dict]) -> None:
    company = crm.company
    intercom = {p: company.contact(p)["email"] for p in range(crm.customers)}
    both = [p for p in contacts if p < crm.customers and contacts[p]["properties"]["email"]]
    assert len(both) > 0.85 * crm.customers
    # same index, same person: the email is the same up to case and spaces
    assert all(clean_email(contacts[p]["properties"]["email"]) == clean_email(intercom[p]) for p in both)
    assert (
        contacts[54]["properties"]["email"] != intercom[54]
        and contacts[6]["properties"]["email"] != intercom[6]
    )
    assert contacts[58]["properties"]["email"] is None  # 58: a HubSpot contact without email
    assert 53 not in contacts and 153 not in contacts  # Intercom only
    assert any(p >= crm.customers for p in contacts)  # HubSpot only
    invitee_emails = {clean_email(i["email"]) for _, invitees in crm_events(crm) for i in invitees}
    calendly_only = {
        crm.person(p)["email"]
        for p in range(crm.customers, crm.person_count)
        if crm.origin(p) == "calendly_only"
    }
    assert calendly_only and calendly_only <= invitee_emails
    assert not calendly_only & {c["properties"]["email"] for c in contacts.values()}
    messy = [
        i["email"] for _, invitees in crm_events(crm) for i in invitees if i["email"] != i["email"].strip()
    ]
    assert messy and all(
        clean_email(e) == crm.person(57)["email"] or clean_email(e) == crm.person(157)["email"] for e in messy
    )


def crm_events(crm: CRM) -> Iterator[tuple[dict, list[dict]]]:
    return (crm.event_record(p, e) for p, e in crm.event_positions())


def test_merged_owners_lifecycle_and_deals(crm: CRM, contacts: dict[int, dict]) -> None:
    # 8 was merged into 7: only the survivor appears, naming 8's id in hs_merged_object_ids
    assert 8 not in contacts and contacts[7]["properties"]["hs_merged_object_ids"] == crm.contact_id(8)
    owners = Counter(c["properties"]["hubspot_owner_id"] for c in contacts.values())
    archived = next(o[0] for o in OWNERS if o[4])
    assert owners[archived] > 0 and owners[None] > 0 and 5 <= len(owners) - 1 <= 8
    assert contacts[56]["properties"]["hubspot_owner_id"] == archived
    assert contacts[55]["properties"]["hubspot_owner_id"] is None
    stages = Counter(c["properties"]["lifecyclestage"] for c in contacts.values())
    assert {"lead", "customer", "salesqualifiedlead", "other", None} <= set(stages)
    deals = [crm.deal_record(c, k) for c in range(crm.company_count) for k in range(crm.deal_count(c))]
    assert {d["properties"]["dealstage"] for d in deals} >= {"closedwon", "closedlost", "contractsent"}
    assert {d["properties"]["amount"] for d in deals} >= {"1,200.00"}
    assert crm.deal_contacts(17, 0) == [] and all(crm.deal_contacts(15, 0))
    assert contacts[62]["properties"]["createdate"] == "2024-13-45T00:00:00.000Z"


def test_calls_are_cancelled_rescheduled_no_shows_past_and_future(
    crm: CRM, events: list[tuple[dict, list[dict]]]
) -> None:
    anchor_ts = crm.anchor_ts
    statuses = Counter(event["status"] for event, _ in events)
    assert statuses["active"] > statuses["canceled"] > 0
    invitees = [invitee for _, invs in events for invitee in invs]
    rescheduled = [i for i in invitees if i["rescheduled"]]
    assert rescheduled and all(i["new_invitee"] and i["status"] == "canceled" for i in rescheduled)
    by_uri = {i["uri"]: i for i in invitees}
    assert all(by_uri[i["new_invitee"]]["old_invitee"] == i["uri"] for i in rescheduled)
    no_shows = [i for i in invitees if i["no_show"]]
    assert no_shows and all(i["status"] == "active" for i in no_shows)
    starts = [parse_time(e["start_time"]) for e, _ in events if parse_time(e["start_time"])]
    assert min(starts) < anchor_ts - 200 * 86_400 and max(starts) > anchor_ts
    repeated = [i for i in invitees if i["no_show"] and clean_email(i["email"]) == crm.person(59)["email"]]
    assert len(repeated) == 3
    owner_emails = {crm.owner_email(i) for i in range(len(OWNERS))}
    hosts = Counter(m["user_email"] for e, _ in events for m in e["event_memberships"])
    assert {email.lower() for email in hosts} - owner_emails == {"sam.ortega@sandbox-saas.example"}
    assert "Marcus.Reyes@sandbox-saas.example" in hosts  # the same AM, different case in Calendly
    assert any(len(e["event_memberships"]) == 2 for e, _ in events)
    assert sum(1 for e, _ in events if e["start_time"].startswith("2024-13-45")) == 2


def test_a_million_customers_cost_no_memory() -> None:
    crm = CRM(Company(seed=1, customers=1_000_000, anchor=ANCHOR))
    started = time.monotonic()
    assert crm.contact_record(999_999)["id"] == crm.contact_id(999_999)
    assert crm.deal_count(249_999) >= 0 and crm.event_exists(999_959, 0) in (True, False)
    assert time.monotonic() - started < 1
    assert all(len(v) < 100 for v in vars(crm).values() if isinstance(v, (dict, list, set)))


# ---- HubSpot over HTTP ---------------------------------------------------------------------------------
def test_hubspot_search_filters_sorts_and_pages(server: SandboxServer, contacts: dict[int, dict]) -> None:
    everything = search_all(
        server, "contacts", {"limit": 200, "properties": ["lifecyclestage", "hs_merged_object_ids"]}
    )
    assert sorted(c["id"] for c in everything) == sorted(c["id"] for c in contacts.values())
    assert set(everything[0]["properties"]) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
        "lifecyclestage", "hs_merged_object_ids",
    }  # fmt: skip
    stamps = sorted(parse_time(c["properties"]["lastmodifieddate"]) for c in contacts.values())
    pivot = int(stamps[len(stamps) // 2] * 1000)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(pivot)}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 37,
    }
    found = search_all(server, "contacts", body)
    found_stamps = [parse_time(c["properties"]["lastmodifieddate"]) for c in found]
    assert found_stamps == sorted(found_stamps) and all(stamp * 1000 >= pivot - 1 for stamp in found_stamps)
    assert len(found) == sum(1 for stamp in stamps if round(stamp * 1000) >= pivot)
    status, _, body = call(server, "POST", "/hubspot/crm/v3/objects/deals/search", {"limit": 201})
    assert status == 400 and body["status"] == "error" and body["category"] == "VALIDATION_ERROR"


def test_hubspot_search_cap_answers_400_like_hubspot(fresh: SandboxServer) -> None:
    fresh.vendors["hubspot"].search_cap = 100
    status, _, page = call(
        fresh, "POST", "/hubspot/crm/v3/objects/contacts/search", {"limit": 50, "after": "50"}
    )
    assert status == 200 and page["paging"]["next"]["after"] == "100" and page["total"] > 100
    status, _, body = call(
        fresh, "POST", "/hubspot/crm/v3/objects/contacts/search", {"limit": 50, "after": "100"}
    )
    assert status == 400 and body["category"] == "VALIDATION_ERROR"


def test_hubspot_owners_include_who_left_only_when_archived(server: SandboxServer) -> None:
    status, headers, active = call(server, "GET", "/hubspot/crm/v3/owners?limit=100")
    assert status == 200 and "paging" not in active and len(active["results"]) == 6
    assert headers["X-HubSpot-RateLimit-Max"] and headers["X-HubSpot-RateLimit-Remaining"]
    _, _, archived = call(server, "GET", "/hubspot/crm/v3/owners?limit=100&archived=true")
    assert [o["lastName"] for o in archived["results"]] == ["Becker"] and archived["results"][0][
        "archived"
    ] is True
    _, _, paged = call(server, "GET", "/hubspot/crm/v3/owners?limit=4")
    assert paged["paging"]["next"]["after"] == "4"


def test_hubspot_association_batch_read(server: SandboxServer, crm: CRM) -> None:
    inputs = [{"id": crm.deal_id(c, 0)} for c in range(crm.company_count) if crm.deal_count(c)]
    status, _, answer = call(
        server,
        "POST",
        "/hubspot/crm/v4/associations/deals/contacts/batch/read",
        {"inputs": inputs + [{"id": "1"}]},
    )
    assert status == 207 and answer["numErrors"] == 1
    got = {r["from"]["id"]: [t["toObjectId"] for t in r["to"]] for r in answer["results"]}
    assert (
        got[crm.deal_id(15, 0)] == [int(i) for i in crm.deal_contacts(15, 0)]
        and got[crm.deal_id(17, 0)] == []
    )
    assert answer["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 3


@pytest.mark.parametrize("token", [None, "wrong"])
def test_hubspot_and_calendly_401_in_their_formats(server: SandboxServer, token: str | None) -> None:
    status, _, body = call(server, "POST", "/hubspot/crm/v3/objects/contacts/search", {}, token=token)
    assert status == 401 and body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
    status, _, body = call(server, "GET", "/calendly/users/me", token=token)
    assert status == 401 and body == {"title": "Unauthenticated", "message": "The access token is invalid"}


def test_rate_limits_answer_429_in_each_vendors_way() -> None:
    server = start_in_thread(customers=100, rate_limit=2, rate_window=60)
    try:
        statuses = [call(server, "GET", "/hubspot/crm/v3/owners")[0] for _ in range(3)]
        status, headers, body = call(server, "GET", "/hubspot/crm/v3/owners")
        assert statuses == [200, 200, 429] and status == 429 and body["errorType"] == "RATE_LIMIT"
        assert (
            headers["X-HubSpot-RateLimit-Remaining"] == "0"
            and headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "60000"
        )
        assert [call(server, "GET", "/calendly/users/me")[0] for _ in range(3)] == [200, 200, 429]
        status, headers, body = call(server, "GET", "/calendly/users/me")
        assert (
            body["title"] == "Too Many Requests" and 0 < int(headers["X-RateLimit-Reset"]) <= 61
        )  # seconds, not epoch
    finally:
        server.shutdown()
        server.server_close()


def test_hubspot_control_changes_and_merges(fresh: SandboxServer) -> None:
    crm = fresh.crm
    before = int(time.time() * 1000)
    status, _, changed = call(
        fresh,
        "POST",
        f"/_sandbox/hubspot/contacts/{crm.contact_id(21)}",
        {"properties": {"lifecyclestage": "evangelist"}},
    )
    assert status == 200 and parse_time(changed["properties"]["lastmodifieddate"]) * 1000 >= before
    since = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(before)}]}
        ]
    }
    assert [c["id"] for c in search_all(fresh, "contacts", since)] == [crm.contact_id(21)]
    status, _, survivor = call(
        fresh,
        "POST",
        "/_sandbox/hubspot/contacts/merge",
        {"primaryObjectId": crm.contact_id(20), "objectIdToMerge": crm.contact_id(21)},
    )
    assert status == 200 and survivor["properties"]["hs_merged_object_ids"] == crm.contact_id(21)
    assert crm.contact_id(21) not in {c["id"] for c in search_all(fresh, "contacts", {"limit": 200})}
    assert call(fresh, "POST", "/_sandbox/hubspot/contacts/999", {"properties": {}})[0] == 404


# ---- Calendly over HTTP -------------------------------------------------------------------------------
def test_calendly_lists_pages_and_filters_like_calendly(
    server: SandboxServer, crm: CRM, events: list[tuple[dict, list[dict]]]
) -> None:
    status, _, me = call(server, "GET", "/calendly/users/me")
    org = me["resource"]["current_organization"]
    listed = events_all(server, organization=org, count=100)
    assert len(listed) == len(events) and len({e["uri"] for e in listed}) == len(events)
    starts = [crm.event_start(*crm.event_position(e["uri"].rsplit("/", 1)[1])) for e in listed]
    assert starts == sorted(starts)
    since = "2026-11-01T00:00:00.000000Z"
    recent = events_all(server, organization=org, count=7, min_start_time=since, status="active")
    assert recent and all(
        e["status"] == "active" and (parse_time(e["start_time"]) or 0) >= parse_time(since) - 1
        for e in recent
    )
    status, _, body = call(
        server, "GET", f"/calendly/scheduled_events?{urlencode({'organization': org, 'count': 101})}"
    )
    assert (
        status == 400 and body["title"] == "Invalid Argument" and body["details"][0]["parameter"] == "count"
    )
    assert (
        call(server, "GET", "/calendly/scheduled_events?count=5")[0] == 400
    )  # organization or user is required
    uuid = listed[0]["uri"].rsplit("/", 1)[1]
    status, _, page = call(server, "GET", f"/calendly/scheduled_events/{uuid}/invitees?count=100")
    assert (
        status == 200
        and page["collection"][0]["event"] == listed[0]["uri"]
        and page["pagination"]["next_page_token"] is None
    )
    assert call(server, "GET", "/calendly/scheduled_events/NOPE/invitees")[0] == 404


def test_calendly_control_cancel_no_show_and_book(fresh: SandboxServer) -> None:
    crm = fresh.crm
    past = next(
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active" and crm.event_start(p, e) < crm.latest_ts
    )
    event, invitees = crm.event_record(*past)
    updated = event["updated_at"]
    status, _, answer = call(
        fresh, "POST", "/_sandbox/calendly/invitee_no_shows", {"invitee": invitees[0]["uri"]}
    )
    assert status == 200 and answer["resource"]["invitee"] == invitees[0]["uri"]
    event_after, invitees_after = crm.event_record(*past)
    assert invitees_after[0]["no_show"] and event_after["updated_at"] == updated  # the event does not change
    future = next(
        (p, e)
        for p, e in crm.event_positions()
        if crm.event_status(p, e) == "active" and crm.event_start(p, e) > time.time()
    )
    status, _, canceled = call(
        fresh,
        "POST",
        f"/_sandbox/calendly/scheduled_events/{crm.event_uuid(*future)}/cancellation",
        {"reason": "Out sick"},
    )
    assert (
        status == 200
        and canceled["resource"]["status"] == "canceled"
        and canceled["resource"]["cancellation"]["reason"] == "Out sick"
    )
    status, _, booked = call(
        fresh,
        "POST",
        "/_sandbox/calendly/scheduled_events",
        {"email": "new@example.com", "start_time": "2027-01-05T10:00:00Z"},
    )
    assert status == 200 and booked["resource"]["status"] == "active"
    me = call(fresh, "GET", "/calendly/users/me")[2]["resource"]
    listed = events_all(
        fresh, organization=me["current_organization"], count=100, min_start_time="2027-01-05T00:00:00Z"
    )
    assert booked["resource"]["uri"] in {e["uri"] for e in listed}


def test_stats_count_requests_per_path(fresh: SandboxServer) -> None:
    call(fresh, "GET", "/hubspot/crm/v3/owners")
    call(fresh, "GET", "/calendly/users/me")
    stats = call(fresh, "GET", "/_sandbox/stats")[2]
    assert stats["requests"] == {"GET /hubspot/crm/v3/owners": 1, "GET /calendly/users/me": 1}
    assert (
        stats["records"]["hubspot_owners_returned"] == 6 and stats["records"]["calendly_events_returned"] == 0
    )
