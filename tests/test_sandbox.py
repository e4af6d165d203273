"""The sandbox: deterministic fictional company, Intercom wire format over real HTTP, control endpoints."""

from __future__ import annotations

import datetime
import html
import inspect
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from sandbox import Company, SandboxServer, start_in_thread
from sandbox.company import DAY, SLOTS
from sandbox.crm import CRM_SLOTS
from sandbox.fathom import MEETING_SLOTS

ROOT = Path(__file__).resolve().parents[1]
CANCEL_KEYWORDS = (
    "cancel",
    "cancellation",
    "cancelling",
    "canceling",
    "churn",
    "leaving",
    "switching",
    "not renewing",
    "won't renew",
    "wont renew",
)


def mentions_cancel(text: str | None) -> bool:
    """metrics.md: HTML stripped, whole-word, case-insensitive keyword match."""
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text or ""))
    return any(
        re.search(rf"(?<!\w){re.escape(word)}(?!\w)", plain, re.IGNORECASE) for word in CANCEL_KEYWORDS
    )


def call(
    server: SandboxServer, method: str, path: str, body: Any = None, token: str | None = "sandbox"
) -> tuple[int, Message, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Intercom-Version": "2.11"}
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


def search(server: SandboxServer, resource: str, query: Any = None, **extra: Any) -> dict:
    status, _, page = call(server, "POST", f"/intercom/{resource}/search", {"query": query or {}, **extra})
    assert status == 200, page
    return page


def walk(server: SandboxServer, resource: str, query: Any = None, per_page: int = 150, **extra: Any) -> list:
    """Every record of a search, following pages.next.starting_after."""
    key = "data" if resource == "contacts" else "conversations"
    pagination: dict[str, Any] = {"per_page": per_page}
    records: list[dict] = []
    while True:
        page = search(server, resource, query, pagination=pagination, **extra)
        records += page[key]
        assert page["total_count"] >= len(records)
        if "next" not in page["pages"]:
            assert len(records) == page["total_count"]
            return records
        pagination = {"per_page": per_page, "starting_after": page["pages"]["next"]["starting_after"]}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_in_thread(customers=200, seed=42)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def company() -> Company:
    return Company(seed=42, customers=200)


@pytest.fixture(scope="module")
def contacts(company: Company) -> list[dict]:
    return list(company.contacts())


@pytest.fixture(scope="module")
def conversations(company: Company) -> list[dict]:
    """Every conversation with its parts."""
    return [company.conversation(conversation["id"]) for conversation in company.conversations()]


# ---- generator ----------------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_data() -> None:
    anchor = datetime.date(2025, 6, 1)

    def dump(seed: int) -> str:
        company = Company(seed=seed, customers=120, anchor=anchor)
        return json.dumps([list(company.contacts()), list(company.conversations())])

    assert dump(7) == dump(7)
    assert dump(7) != dump(8)


def test_a_million_customers_are_generated_on_demand() -> None:
    server = start_in_thread(customers=1_000_000)
    try:
        company = server.company
        assert company.contact(999_999)["id"] == company.contact_id(999_999)
        assert inspect.isgenerator(company.contacts())
        query = {"field": "updated_at", "operator": ">", "value": company.anchor_ts - 30 * DAY}
        first = search(server, "contacts", query, pagination={"per_page": 150})
        after = first["pages"]["next"]["starting_after"]
        second = search(server, "contacts", query, pagination={"per_page": 150, "starting_after": after})
        ids = [contact["id"] for contact in first["data"] + second["data"]]
        assert len(ids) == len(set(ids)) == 300
        assert 0 < first["total_count"] < 1_000_000
        # nothing per customer is held: only overrides (none) and small fixed structures
        assert all(
            len(value) < 100 for value in vars(company).values() if isinstance(value, (dict, list, set))
        )
    finally:
        server.shutdown()
        server.server_close()


def test_updated_at_is_never_later_than_two_days_before_the_anchor(
    company: Company, contacts: list[dict], conversations: list[dict]
) -> None:
    latest = company.anchor_ts - 2 * DAY
    assert max(contact["updated_at"] for contact in contacts) <= latest
    assert max(conversation["updated_at"] for conversation in conversations) <= latest
    assert min(contact["signed_up_at"] or latest for contact in contacts) >= company.anchor_ts - 3 * 366 * DAY
    assert [company.contact_updated_at(i) for i in range(200)] == [c["updated_at"] for c in contacts]


def test_timestamps_are_non_negative_integers_or_null_except_the_malformed_slots(
    contacts: list[dict], conversations: list[dict]
) -> None:
    def bad(record: dict, fields: tuple[str, ...]) -> list[str]:
        return [f for f in fields if not (record[f] is None or (type(record[f]) is int and record[f] >= 0))]

    contact_fields = ("created_at", "updated_at", "signed_up_at", "last_seen_at", "last_replied_at")
    conversation_fields = ("created_at", "updated_at", "waiting_since", "snoozed_until")
    broken = Counter(f"contact.{f}" for contact in contacts for f in bad(contact, contact_fields))
    broken += Counter(f"conversation.{f}" for c in conversations for f in bad(c, conversation_fields))
    assert broken == {"contact.created_at": 2, "contact.last_seen_at": 2, "conversation.created_at": 2}
    assert {c["created_at"] for c in contacts if isinstance(c["created_at"], str)} == {"2024-13-45"}
    assert {c["last_seen_at"] for c in contacts if isinstance(c["last_seen_at"], int)} & {-1}


def _stripe(contact: dict) -> dict:
    return contact["custom_attributes"]


def _subscriptions(contacts: list[dict]) -> list[dict]:
    return [sub for contact in contacts for sub in _stripe(contact).get("Stripe Subscriptions", [])]


def _payments(contacts: list[dict]) -> list[dict]:
    return [payment for contact in contacts for payment in _stripe(contact).get("Stripe Payments", [])]


def test_contact_messes_are_present_at_200_customers(company: Company, contacts: list[dict]) -> None:
    roles = Counter(contact["role"] for contact in contacts)
    assert roles["user"] > roles["lead"] > 0
    leads = [contact for contact in contacts if contact["role"] == "lead"]
    assert all(not any(key.lower().startswith("stripe") for key in _stripe(lead)) for lead in leads)
    stripe = [contact for contact in contacts if "stripe_id" in _stripe(contact)]
    subscriptions, payments = _subscriptions(contacts), _payments(contacts)
    assert {(s["plan"]["interval"], s["plan"]["interval_count"]) for s in subscriptions} == {
        ("month", 1),
        ("month", 3),
        ("year", 1),
        ("week", 1),
    }
    assert {s["plan"]["nickname"] for s in subscriptions} == {"Starter", "Pro", "Business", "Enterprise"}
    assert {s["status"] for s in subscriptions} == {
        "active",
        "past_due",
        "trialing",
        "unpaid",
        "canceled",
        "incomplete",
    }
    assert {s["plan"]["currency"] for s in subscriptions} == {"usd", "eur", "gbp"}
    assert any(s.get("quantity", 1) > 1 for s in subscriptions)
    assert any("quantity" not in s for s in subscriptions)
    assert any(len(_stripe(c)["Stripe Subscriptions"]) >= 2 for c in stripe)
    assert {p["status"] for p in payments} >= {"succeeded", "failed"}
    assert any(0 < p["amount_refunded"] < p["amount"] for p in payments)
    assert any(p["amount_refunded"] == p["amount"] > 0 for p in payments)
    assert any(not _stripe(c)["Stripe Subscriptions"] and not _stripe(c)["Stripe Payments"] for c in stripe)
    assert any(
        "stripe_subscription_status" not in _stripe(c) and _stripe(c)["Stripe Subscriptions"] for c in stripe
    )
    assert any(
        _stripe(c).get("stripe_delinquent") is True
        and _stripe(c).get("stripe_subscription_status") == "active"
        for c in stripe
    )
    assert any("stripe_delinquent" not in _stripe(c) for c in stripe)
    assert any(c["role"] == "user" and not _stripe(c) for c in contacts)  # free users without Stripe

    emails = [contact["email"] for contact in contacts]
    assert any(e and e != e.strip() and e.strip() != e.strip().lower() for e in emails)
    assert None in emails
    assert {"not-an-email", "bob@localhost", "a b@x.com"} <= set(emails)
    by_key: dict[str, list[dict]] = {}
    for contact in contacts:
        if contact["email"]:
            by_key.setdefault(contact["email"].strip().lower(), []).append(contact)
    shared = [group for key, group in by_key.items() if len(group) == 2 and "@" in key and "." in key]
    assert any(a["email"] != b["email"] and a["updated_at"] != b["updated_at"] for a, b in shared)

    assert any(c["last_seen_at"] is None for c in contacts)
    assert any(c["location"]["country"] is None for c in contacts)
    assert any(c["location"]["country"] and c["location"]["city"] is None for c in contacts)
    buckets: Counter[str] = Counter()
    for contact in contacts:
        seen = contact["last_seen_at"]
        if seen is None or seen < 0:
            buckets["never"] += 1
            continue
        days = (company.anchor - datetime.datetime.fromtimestamp(seen, datetime.timezone.utc).date()).days
        buckets[next((str(limit) for limit in (7, 14, 30, 60) if days <= limit), "older")] += 1
    assert set(buckets) == {"7", "14", "30", "60", "older", "never"}, buckets


def test_conversation_messes_are_present_at_200_customers(
    company: Company, contacts: list[dict], conversations: list[dict]
) -> None:
    window_start = company.anchor_ts - 30 * DAY
    recent = [
        c for c in conversations if isinstance(c["created_at"], int) and c["created_at"] >= window_start
    ]
    old = [c for c in conversations if isinstance(c["created_at"], int) and c["created_at"] < window_start]
    assert recent and old
    for state in ("open", "closed", "snoozed"):
        in_state = [c for c in conversations if c["state"] == state]
        assert any(c["conversation_rating"] is None for c in in_state), state
        assert any(1 <= c["conversation_rating"]["rating"] <= 5 for c in in_state if c["conversation_rating"])
    assert {c["priority"] for c in conversations} == {"priority", "not_priority"}

    def customer_text(c: dict) -> str:
        return f"{c['title'] or ''} {c['source']['body']}"

    def parts(c: dict, *authors: str) -> list[str]:
        return [
            p["body"] for p in c["conversation_parts"]["conversation_parts"] if p["author"]["type"] in authors
        ]

    bodies = [c["source"]["body"] for c in recent]
    assert "<p>I want to <b>cancel</b> my plan</p>" in bodies
    assert any("won&#39;t renew" in body for body in bodies) and any("won't renew" in body for body in bodies)
    assert any("switching to a competitor" in body for body in bodies)
    assert any(mentions_cancel(c["title"]) and not mentions_cancel(c["source"]["body"]) for c in recent)
    near_miss = [c for c in recent if "cancelled" in c["source"]["body"] and "churned" in c["source"]["body"]]
    assert near_miss and not any(mentions_cancel(customer_text(c)) for c in near_miss)
    assert any(mentions_cancel(c["source"]["body"]) for c in old)
    quiet = [c for c in recent if not mentions_cancel(customer_text(c))]
    assert any(any(map(mentions_cancel, parts(c, "admin"))) for c in quiet)
    assert any(any(map(mentions_cancel, parts(c, "user", "lead"))) for c in quiet)
    assert any(len(c["contacts"]["contacts"]) >= 2 for c in conversations)
    leads = {contact["id"] for contact in contacts if contact["role"] == "lead"}
    assert any(
        c["source"]["author"]["type"] == "lead" and c["source"]["author"]["id"] in leads
        for c in conversations
    )


def test_messes_sit_in_fixed_slots_so_any_size_from_100_has_them() -> None:
    small = Company(seed=3, customers=100)
    assert {small.contact(30)["created_at"], small.contact(31)["last_seen_at"]} == {"2024-13-45", -1}
    assert small.conversation(small.conversation_id(32, 0))["created_at"] == "2024-13-45"
    assert small.contact(1)["role"] == "lead" and small.contact(9)["email"] is None


def test_each_slot_holds_one_kind_of_mess_across_vendors() -> None:
    """Intercom/Stripe, CRM and Fathom slots are disjoint, so a mess is never confounded with another."""
    intercom, crm, fathom = set(SLOTS), set(CRM_SLOTS), set(MEETING_SLOTS)
    assert not intercom & crm and not intercom & fathom and not crm & fathom
    company = Company(seed=3, customers=200)
    for p in range(200):
        if p % 100 in fathom:
            assert company.person(p)["role"] == "user" and company.person(p)["email"], p


# ---- HTTP: auth, paging, filters -----------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "wrong"])
def test_requests_without_the_token_get_401(sandbox: SandboxServer, token: str | None) -> None:
    status, _, body = call(sandbox, "POST", "/intercom/contacts/search", {}, token=token)
    assert status == 401
    assert body["type"] == "error.list" and body["request_id"]
    assert body["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]


def test_paging_walks_every_contact_exactly_once(sandbox: SandboxServer) -> None:
    status, _, added = call(sandbox, "POST", "/_sandbox/intercom/contacts", {"email": "new@example.com"})
    assert status == 200
    contacts = walk(sandbox, "contacts")
    ids = [contact["id"] for contact in contacts]
    assert len(ids) == len(set(ids)) == 201
    assert ids[-1] == added["id"]
    first = search(sandbox, "contacts", pagination={"per_page": 500})
    assert first["pages"]["per_page"] == 150 and len(first["data"]) == 150
    assert first["pages"]["total_pages"] == 2 and first["pages"]["next"]["page"] == 2
    assert first["type"] == "list" and first["pages"]["type"] == "pages"


def test_conversation_search_pages_like_intercom(sandbox: SandboxServer) -> None:
    found = walk(sandbox, "conversations", per_page=40)
    assert [c["id"] for c in found] == [c["id"] for c in sandbox.company.conversations()]
    assert all("conversation_parts" not in c for c in found)
    page = search(sandbox, "conversations")
    assert page["type"] == "conversation.list" and page["pages"]["per_page"] == 20


def test_timestamp_filters_match_by_utc_calendar_day(sandbox: SandboxServer, contacts: list[dict]) -> None:
    pivot = next(c for c in contacts if c["updated_at"] % DAY > 3600)
    value = pivot["updated_at"] - 60  # a minute earlier on the same day
    found = {
        c["id"] for c in walk(sandbox, "contacts", {"field": "updated_at", "operator": ">", "value": value})
    }
    assert pivot["id"] not in found  # updated after the value, but on the same day: Intercom misses it
    assert found == {c["id"] for c in contacts if c["updated_at"] // DAY > value // DAY}
    same_day = {"field": "updated_at", "operator": "=", "value": value}
    assert pivot["id"] in {c["id"] for c in walk(sandbox, "contacts", same_day)}
    both = {
        "operator": "AND",
        "value": [
            {"field": "updated_at", "operator": ">=", "value": value},
            {
                "operator": "OR",
                "value": [
                    {"field": "id", "operator": "=", "value": pivot["id"]},
                    {"field": "email", "operator": "=", "value": "nobody@example.com"},
                ],
            },
        ],
    }
    assert [c["id"] for c in walk(sandbox, "contacts", both)] == [pivot["id"]]
    status, _, body = call(
        sandbox, "POST", "/intercom/contacts/search", {"query": {"field": "x", "value": 1}}
    )
    assert status == 400 and body["errors"][0]["code"] == "parameter_invalid"


def test_sort_by_updated_at(sandbox: SandboxServer) -> None:
    ordered = walk(sandbox, "contacts", per_page=70, sort={"field": "updated_at", "order": "ascending"})
    stamps = [c["updated_at"] for c in ordered]
    assert stamps == sorted(stamps) and len(ordered) == 200


def test_get_conversation_returns_parts_or_404(sandbox: SandboxServer) -> None:
    conversation = next(sandbox.company.conversations())
    status, _, body = call(sandbox, "GET", f"/intercom/conversations/{conversation['id']}")
    assert status == 200 and body["id"] == conversation["id"]
    parts = body["conversation_parts"]
    assert parts["type"] == "conversation_part.list" and parts["total_count"] == len(
        parts["conversation_parts"]
    )
    assert {p["author"]["type"] for p in parts["conversation_parts"]} <= {"user", "lead", "admin", "bot"}
    status, _, body = call(sandbox, "GET", "/intercom/conversations/42")
    assert status == 404 and body["errors"] == [{"code": "not_found", "message": "Resource Not Found"}]


# ---- control endpoints ----------------------------------------------------------------------------------
def test_changed_records_are_what_an_incremental_search_returns(sandbox: SandboxServer) -> None:
    company = sandbox.company
    contact = company.contact(21)
    before = int(time.time())
    changes = {"name": "Renamed Person", "custom_attributes": {"stripe_plan": "Enterprise"}}
    status, _, changed = call(sandbox, "POST", f"/_sandbox/intercom/contacts/{contact['id']}", changes)
    assert status == 200 and changed["name"] == "Renamed Person" and changed["updated_at"] >= before
    assert changed["custom_attributes"]["stripe_plan"] == "Enterprise"
    assert changed["custom_attributes"]["Stripe Payments"] == contact["custom_attributes"]["Stripe Payments"]
    since = {"field": "updated_at", "operator": ">", "value": company.anchor_ts - DAY}
    assert walk(sandbox, "contacts", since) == [changed]

    conversation = next(company.conversations())
    path = f"/_sandbox/intercom/conversations/{conversation['id']}"
    status, _, closed = call(sandbox, "POST", path, {"state": "closed", "open": False})
    assert status == 200 and closed["updated_at"] >= before
    assert [c["id"] for c in walk(sandbox, "conversations", since)] == [conversation["id"]]
    assert call(sandbox, "POST", "/_sandbox/intercom/contacts/unknown", {})[0] == 404


def test_rate_limit_headers_and_429_when_the_window_is_used_up() -> None:
    server = start_in_thread(customers=100, rate_limit=3, rate_window=60)
    try:
        statuses = []
        for _ in range(4):
            status, headers, body = call(server, "POST", "/intercom/contacts/search", {})
            statuses.append(status)
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(headers)
        assert statuses == [200, 200, 200, 429]
        assert headers["X-RateLimit-Remaining"] == "0" and int(headers["X-RateLimit-Reset"]) > time.time()
        assert body["errors"][0]["code"] == "rate_limit_exceeded"
    finally:
        server.shutdown()
        server.server_close()


def test_injected_429_then_success(sandbox: SandboxServer) -> None:
    fault = {"path_prefix": "/intercom/", "status": 429, "count": 1, "retry_after": 3}
    assert call(sandbox, "POST", "/_sandbox/faults", fault)[0] == 200
    status, headers, body = call(sandbox, "POST", "/intercom/contacts/search", {})
    assert status == 429 and body["errors"][0]["code"] == "rate_limit_exceeded"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["Retry-After"] == "3"
    assert 2 <= int(headers["X-RateLimit-Reset"]) - time.time() <= 4
    assert call(sandbox, "POST", "/intercom/contacts/search", {})[0] == 200


def test_injected_errors_count_every_and_delay(sandbox: SandboxServer) -> None:
    call(
        sandbox, "POST", "/_sandbox/faults", {"path_prefix": "/intercom/contacts", "status": 500, "count": 2}
    )
    statuses = [call(sandbox, "POST", "/intercom/contacts/search", {})[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    call(sandbox, "POST", "/_sandbox/faults", {"path_prefix": "/intercom/", "status": 503, "every": 2})
    statuses = [call(sandbox, "POST", "/intercom/contacts/search", {})[0] for _ in range(4)]
    assert statuses == [200, 503, 200, 503]
    assert call(sandbox, "DELETE", "/_sandbox/faults")[0] == 200
    call(sandbox, "POST", "/_sandbox/faults", {"delay_ms": 300, "count": 1})
    started = time.monotonic()
    assert call(sandbox, "POST", "/intercom/contacts/search", {})[0] == 200
    assert time.monotonic() - started >= 0.3
    assert call(sandbox, "POST", "/_sandbox/faults", {"status": 200})[0] == 400


def test_stats_count_vendor_requests_and_records(sandbox: SandboxServer) -> None:
    assert call(sandbox, "GET", "/_sandbox/health")[2] == {"ok": True}
    walk(sandbox, "contacts")
    conversation_id = next(sandbox.company.conversations())["id"]
    call(sandbox, "GET", f"/intercom/conversations/{conversation_id}")
    call(sandbox, "POST", "/intercom/contacts/search", {}, token="wrong")
    stats = call(sandbox, "GET", "/_sandbox/stats")[2]
    assert stats["total"] == 4
    assert stats["requests"] == {
        "POST /intercom/contacts/search": 3,
        f"GET /intercom/conversations/{conversation_id}": 1,
    }
    assert stats["records"]["intercom_contacts_returned"] == 200
    assert stats["statuses"] == {"200": 3, "401": 1}
    call(sandbox, "POST", "/_sandbox/stats/reset")
    after = call(sandbox, "GET", "/_sandbox/stats")[2]
    assert after["total"] == 0 and after["records"]["intercom_contacts_returned"] == 0


def test_python_m_sandbox_prints_its_base_urls() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--customers", "100"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert re.fullmatch(r"intercom  http://127\.0\.0\.1:\d+/intercom\n", line)
    finally:
        process.terminate()
        process.wait(timeout=10)
