"""End to end, as a user runs it: sandbox over HTTP -> `gtm sync` -> `gtm build` -> marts, on DuckDB and
PostgreSQL, with every number checked against tests/expected.py (computed from the generated records)."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AS_OF,
    PG_PASSWORD,
    TOKEN,
    WAREHOUSES,
    Sandbox,
    Warehouse,
    _drop_postgres_database,
    new_warehouse,
)
from expected import HEALTH_SCOPE, SEVERITY, Expected, expected_customers, no_rates

DAY = 86_400
ANCHOR_TS = int(__import__("calendar").timegm(AS_OF.timetuple()))


def stripe_contact(
    cid: str, email: str, subs: list[dict[str, Any]], payments: list[dict[str, Any]], **attrs: Any
) -> dict[str, Any]:
    return {
        "type": "contact",
        "id": cid,
        "role": "user",
        "email": email,
        "name": cid.replace("_", " ").title(),
        "created_at": ANCHOR_TS - 400 * DAY,
        "updated_at": ANCHOR_TS - 3 * DAY,
        "signed_up_at": ANCHOR_TS - 400 * DAY,
        "last_seen_at": ANCHOR_TS - 2 * DAY,
        "location": {"type": "location", "country": "Germany", "city": "Berlin"},
        "custom_attributes": {
            "stripe_id": f"cus_{cid}",
            "Stripe Subscriptions": subs,
            "Stripe Payments": payments,
            **attrs,
        },
    }


def sub(
    sid: str,
    amount: int,
    interval: str = "month",
    count: int = 1,
    quantity: int | None = 1,
    status: str = "active",
    currency: str = "usd",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": sid,
        "status": status,
        "plan": {
            "id": f"plan_{sid}",
            "amount": amount,
            "interval": interval,
            "interval_count": count,
            "nickname": "Pro",
            "currency": currency,
        },
    }
    if quantity is not None:
        item["quantity"] = quantity
    return item


def payment(
    pid: str,
    amount: int,
    refunded: int = 0,
    status: str = "succeeded",
    days_ago: float = 10,
    currency: str = "usd",
) -> dict[str, Any]:
    return {
        "id": pid,
        "amount": amount,
        "amount_refunded": refunded,
        "currency": currency,
        "created": int(ANCHOR_TS - days_ago * DAY),
        "status": status,
    }


# The seven test cases of seed 003 ("Testing"), added to the sandbox company before the first sync.
SEED_CASES = {
    "new_with_stripe": stripe_contact(
        "seed_new",
        "New.Customer@Example.com",
        [sub("s_n1", 29900)],
        [payment("p_n1", 29900), payment("p_n2", 29900, refunded=9900)],
        stripe_subscription_status="active",
        stripe_delinquent=False,
    ),
    "multiple_subscriptions": stripe_contact(
        "seed_multi",
        "multi@example.com",
        [sub("s_m1", 29900), sub("s_m2", 4900, quantity=3), sub("s_m3", 9900, status="trialing")],
        [],
        stripe_subscription_status="active",
    ),
    "annual": stripe_contact(
        "seed_annual",
        "annual@example.com",
        [sub("s_a1", 120000, interval="year")],
        [payment("p_a1", 120000)],
        stripe_subscription_status="active",
    ),
    "no_stripe": {
        "type": "contact",
        "id": "seed_lead",
        "role": "lead",
        "email": "lead.only@example.com",
        "name": None,
        "created_at": ANCHOR_TS - 20 * DAY,
        "updated_at": ANCHOR_TS - 3 * DAY,
        "last_seen_at": None,
        "location": {},
        "custom_attributes": {},
    },
    "delinquent": stripe_contact(
        "seed_delinquent",
        "late.payer@example.com",
        [sub("s_d1", 9900, status="past_due")],
        [payment("p_d1", 9900, status="failed")],
        stripe_subscription_status="past_due",
        stripe_delinquent=True,
    ),
}
# The cases of metrics.md's new rules (subscription status, payment failures, currency).
CONTRACT_CASES = {
    # the attribute describes the canceled subscription; the best status among the subscriptions wins
    "active_and_canceled": stripe_contact(
        "case_both",
        "both@example.com",
        [sub("s_b1", 4900, status="canceled"), sub("s_b2", 9900)],
        [payment("p_b1", 9900)],
        stripe_subscription_status="canceled",
    ),
    # a failed payment 3 days ago, nothing after it: signal payment_failed, a healthy score capped
    "payment_failed": stripe_contact(
        "case_failed",
        "failed@example.com",
        [sub("s_f1", 120000)],
        [payment("p_f1", 120000, days_ago=33), payment("p_f2", 120000, status="failed", days_ago=3)],
        stripe_subscription_status="active",
    ),
    # a failed payment followed by a success: recovered, no signal
    "payment_recovered": stripe_contact(
        "case_recovered",
        "recovered@example.com",
        [sub("s_r1", 120000)],
        [payment("p_r1", 120000, status="failed", days_ago=6), payment("p_r2", 120000, days_ago=4)],
        stripe_subscription_status="active",
    ),
    # a failed payment 31 days ago: outside the 30-day window, no signal
    "payment_failed_old": stripe_contact(
        "case_old_failure",
        "oldfailure@example.com",
        [sub("s_o1", 120000)],
        [payment("p_o1", 120000, status="failed", days_ago=31)],
        stripe_subscription_status="active",
    ),
    # wrote "cancel" but scores exactly 70 (every component 100, -30): healthy by the bands, capped at at_risk
    "cancel_healthy_score": stripe_contact(
        "case_cancel",
        "cancelling@example.com",
        [sub("s_c1", 120000)],
        [payment("p_c1", 120000)],
        stripe_subscription_status="active",
    ),
    # EUR: no rate before `gtm fx refresh`, the ECB's rate of the first day of T's month after it
    "eur": stripe_contact(
        "case_eur",
        "euro@example.com",
        [sub("s_e1", 25000, currency="eur")],
        [payment("p_e1", 25000, days_ago=40, currency="eur")],
        stripe_subscription_status="active",
    ),
}


def cancel_conversation(conversation_id: str, contact_id: str) -> dict[str, Any]:
    """A closed, unrated conversation 4 days before T in which the customer writes about cancelling."""
    return {
        "type": "conversation",
        "id": conversation_id,
        "title": None,
        "created_at": ANCHOR_TS - 4 * DAY,
        "updated_at": ANCHOR_TS - 3 * DAY,
        "state": "closed",
        "open": False,
        "priority": "not_priority",
        "conversation_rating": None,
        "source": {
            "type": "conversation",
            "id": f"src_{conversation_id}",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": "<p>We will cancel next month.</p>",
            "author": {"type": "user", "id": contact_id},
        },
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": contact_id}]},
    }


@pytest.fixture(scope="module", params=WAREHOUSES)
def pipeline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[tuple[Warehouse, Sandbox]]:
    """One sandbox company synced and built into a fresh warehouse; the tests below run in order on it."""
    box = Sandbox(customers=300, seed=7, token=TOKEN, anchor=AS_OF)
    for contact in [*SEED_CASES.values(), *CONTRACT_CASES.values()]:
        box.control("POST", "intercom/contacts", contact)
    box.control(
        "POST",
        "intercom/conversations",
        {
            "type": "conversation",
            "id": "seed_conv_cancel",
            "title": None,
            "created_at": ANCHOR_TS - 5 * DAY,
            "updated_at": ANCHOR_TS - 3 * DAY,
            "state": "open",
            "open": True,
            "priority": "not_priority",
            "conversation_rating": None,
            "source": {
                "type": "conversation",
                "id": "src_seed",
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": "<p>We are thinking to <b>CANCEL</b> at the end of the month.</p>",
                "author": {"type": "user", "id": "seed_annual", "email": "annual@example.com"},
            },
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "seed_annual"}]},
        },
    )
    box.control("POST", "intercom/conversations", cancel_conversation("case_conv_cancel", "case_cancel"))
    warehouse, database = new_warehouse(request.param, tmp_path_factory.mktemp(request.param), dbt_dirs)
    warehouse.env.update(box.env())
    warehouse.env["SOURCES__ECB__BASE_URL"] = f"{box.url}/ecb"
    warehouse.gtm("sync")
    # first without any exchange rate (the seed ships empty), then with the ECB's
    first_build = warehouse.gtm("build")
    BEFORE_FX[warehouse.kind] = {
        "build_output": first_build.stdout + first_build.stderr,
        "customers": customers(warehouse),
        "summary": json.loads(warehouse.gtm("summary", "--json").stdout),
        "expected": expected_customers(box.company.contacts(), box.company.conversations(), AS_OF, no_rates),
    }
    warehouse.gtm("fx", "refresh")
    warehouse.gtm("build")
    yield warehouse, box
    box.close()
    if database:
        _drop_postgres_database(database)


BEFORE_FX: dict[str, dict[str, Any]] = {}


def ecb_rates(box: Sandbox) -> Callable[[str, date], Decimal | None]:
    """USD per unit of a currency on a day, from the sandbox's ECB file read here over HTTP: the latest
    published day on or before it, crossed through EUR (USD per EUR / currency per EUR)."""
    with urllib.request.urlopen(f"{box.url}/ecb/eurofxref-hist.zip") as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    text = archive.read("eurofxref-hist.csv").decode()
    per_eur: dict[date, dict[str, Decimal]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = date.fromisoformat(row["Date"])
        per_eur[day] = {
            code.lower(): Decimal(v)
            for code, v in row.items()
            if code and code != "Date" and v not in ("N/A", "")
        }
        per_eur[day]["eur"] = Decimal(1)
    days = sorted(per_eur)

    def rate(currency: str, day: date) -> Decimal | None:
        published = [d for d in days if d <= day and currency in per_eur[d] and "usd" in per_eur[d]]
        if not published:
            return None
        quotes = per_eur[published[-1]]
        return quotes["usd"] / quotes[currency]

    return rate


def expected_now(box: Sandbox) -> dict[str, Expected]:
    return expected_customers(box.company.contacts(), box.company.conversations(), AS_OF, ecb_rates(box))


def customers(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    rows = warehouse.query("select * from marts.unified_customers")
    return {row["email_key"]: row for row in rows}


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def assert_matches_expected(warehouse: Warehouse, box: Sandbox) -> None:
    expected = expected_now(box)
    actual = customers(warehouse)
    assert set(actual) == set(expected)
    mismatches = []
    for key, want in expected.items():
        got = actual[key]
        pairs = {
            "intercom_contact_id": (got["intercom_contact_id"], want.contact_id),
            "mrr": (as_decimal(got["mrr"]), want.mrr),
            "arr": (as_decimal(got["arr"]), want.arr),
            "mrr_native": (as_decimal(got["mrr_native"]), want.mrr_native),
            "currency": (got["currency"], want.currency),
            "is_fx_missing": (got["is_fx_missing"], want.is_fx_missing),
            "payment_failed_at": (got["payment_failed_at"], naive(want.payment_failed_at)),
            "customer_stage": (got["customer_stage"], want.customer_stage),
            "is_in_health_scope": (got["is_in_health_scope"], want.customer_stage in HEALTH_SCOPE),
            "ltv": (as_decimal(got["ltv"]), want.ltv),
            "subscription_count": (got["subscription_count"], want.subscription_count),
            "subscription_status": (got["subscription_status"], want.subscription_status),
            "is_delinquent": (got["is_delinquent"], want.is_delinquent),
            "days_since_seen": (got["days_since_seen"], want.days_since_seen),
            "intercom_convos_total": (got["intercom_convos_total"], want.convos_total),
            "intercom_convos_30d": (got["intercom_convos_30d"], want.convos_30d),
            "open_tickets": (got["open_tickets"], want.open_tickets),
            "has_open_priority_ticket": (got["has_open_priority_ticket"], want.has_open_priority_ticket),
            "csat_score": (as_decimal(got["csat_score"]), want.csat_score),
            "mentioned_cancel": (got["mentioned_cancel"], want.mentioned_cancel),
            "health_score": (got["health_score"], want.health_score),
            "health_status": (got["health_status"], want.health_status),
            "health_status_capped_by": (got["health_status_capped_by"], want.health_status_capped_by),
            "churn_risk": (got["churn_risk"], want.churn_risk),
            "data_quality_score": (got["data_quality_score"], want.data_quality_score),
            "risk_signals": (sorted(filter(None, (got["risk_signals"] or "").split(","))), want.risk_signals),
        }
        mismatches += [f"{key} {name}: got {g!r}, expected {w!r}" for name, (g, w) in pairs.items() if g != w]
    assert not mismatches, f"{len(mismatches)} mismatches, e.g.:\n" + "\n".join(mismatches[:15])


def naive(value: datetime | None) -> datetime | None:
    """A UTC datetime as the warehouses return timestamps (naive UTC)."""
    return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)


def test_marts_match_values_computed_from_the_source_data(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, box = pipeline
    assert_matches_expected(warehouse, box)
    statuses = {row["health_status"] for row in customers(warehouse).values()}
    assert statuses == {"healthy", "at_risk", "high_risk", "critical"}, (
        "the sandbox should populate every status"
    )


def test_seed_003_cases(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    rows = customers(warehouse)
    new = rows["new.customer@example.com"]  # 1. new contact with Stripe data; email matched lower-cased
    assert (as_decimal(new["mrr"]), as_decimal(new["arr"]), as_decimal(new["ltv"])) == (
        Decimal("299.00"),
        Decimal("3588.00"),
        Decimal("499.00"),
    )
    assert new["email"] == "New.Customer@Example.com" and new["stripe_customer_id"] == "cus_seed_new"
    multi = rows["multi@example.com"]  # 3. multiple subscriptions: 299 + 3 x 49, the trial is not MRR
    assert as_decimal(multi["mrr"]) == Decimal("446.00") and multi["subscription_count"] == 2
    annual = rows["annual@example.com"]  # 4. annual 1,200.00 a year is 100.00 a month
    assert as_decimal(annual["mrr"]) == Decimal("100.00") and as_decimal(annual["arr"]) == Decimal("1200.00")
    lead = rows["lead.only@example.com"]  # 5. no Stripe data: revenue is null, not 0; name from the email
    assert [lead[c] for c in ("mrr", "arr", "ltv", "subscription_status", "is_delinquent")] == [None] * 5
    assert lead["name"] == "lead.only"
    assert annual["mentioned_cancel"] is True  # 6. "CANCEL" inside HTML, 5 days before as-of
    assert "cancel_mention" in annual["risk_signals"]
    late = rows["late.payer@example.com"]  # 7. delinquent payment
    assert late["is_delinquent"] is True and "payment_delinquent" in late["risk_signals"]
    assert as_decimal(late["mrr"]) == Decimal("99.00")  # past_due stays in MRR by default


def test_malformed_and_unmatchable_records_are_quarantined(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, box = pipeline
    quarantined = warehouse.query(
        "select source, entity, record_id, reason, raw_values from audit.quarantined_records"
    )
    reasons = {row["reason"] for row in quarantined}
    assert any("timestamp" in reason for reason in reasons), reasons  # malformed by the loader
    assert {"missing_email", "invalid_email"} <= reasons
    assert all(row["raw_values"] for row in quarantined)
    malformed = {row["record_id"] for row in quarantined if "timestamp" in row["reason"]}
    loaded = {row["id"] for row in warehouse.query("select id from raw_intercom.contacts")}
    assert not malformed & loaded
    all_ids = {c["id"] for c in box.company.contacts()}
    assert loaded | (malformed & all_ids) == all_ids  # everything else loaded


def test_summary_agrees_with_the_customer_rows(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    rows = [r for r in customers(warehouse).values() if r["is_in_health_scope"]]
    summary = json.loads(warehouse.gtm("summary", "--json").stdout)
    assert summary["total_customers"] == len(rows)
    total_mrr = sum((Decimal(str(r["mrr"])) for r in rows if r["mrr"] is not None), Decimal(0))
    assert Decimal(str(summary["total_mrr"])) == total_mrr
    for status, cell in summary["health_distribution"].items():
        assert cell["count"] == sum(r["health_status"] == status for r in rows)
    assert summary["at_risk_count"] == sum(r["health_status"] in ("at_risk", "high_risk") for r in rows)
    at_risk = json.loads(warehouse.gtm("at-risk", "--limit", "5", "--json").stdout)
    assert [r["mrr"] for r in at_risk] == sorted((r["mrr"] for r in at_risk), reverse=True)


def snapshot(warehouse: Warehouse) -> dict[str, Any]:
    volatile = {"last_intercom_sync"}
    return {
        "customers": sorted(
            tuple(sorted((k, str(v)) for k, v in row.items() if k not in volatile))
            for row in customers(warehouse).values()
        ),
        "signals": sorted(str(r) for r in warehouse.query("select * from marts.customer_risk_signals")),
        "history": sorted(str(r) for r in warehouse.query("select * from marts.customer_health_history")),
        "summary": warehouse.query("select * from marts.dashboard_summary"),
    }


def test_sync_and_build_twice_changes_nothing(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    before = snapshot(warehouse)
    warehouse.gtm("sync")
    warehouse.gtm("build")
    assert snapshot(warehouse) == before
    duplicates = warehouse.query(
        "select email_key, as_of_date, count(*) as n from marts.customer_health_history"
        " group by 1, 2 having count(*) > 1"
    )
    assert duplicates == []


def test_incremental_sync_fetches_only_what_changed(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, box = pipeline
    before = customers(warehouse)
    box.reset_stats()
    box.control(
        "POST",
        "intercom/contacts/seed_multi",
        {"custom_attributes": {"Stripe Subscriptions": [sub("s_m1", 29900)]}},
    )
    box.control("POST", "intercom/contacts/seed_new", {"name": "Renamed Customer"})
    box.control("POST", "intercom/contacts/seed_lead", {"last_seen_at": ANCHOR_TS + 3600})
    result = warehouse.gtm("sync")
    stats = box.stats()
    # One page of each search answers everything that changed (plus the overlap day Intercom's day-granular
    # search makes us ask for again); never one request per contact.
    assert stats["requests"].get("POST /intercom/contacts/search") == 1, stats
    assert stats["requests"].get("POST /intercom/conversations/search") == 1, stats
    assert "contacts 3" in result.stderr, result.stderr
    warehouse.gtm("build")
    after = customers(warehouse)
    assert as_decimal(after["multi@example.com"]["mrr"]) == Decimal("299.00")
    assert after["new.customer@example.com"]["name"] == "Renamed Customer"
    assert as_decimal(after["new.customer@example.com"]["mrr"]) == Decimal("299.00")  # other fields kept
    assert after["lead.only@example.com"]["days_since_seen"] == 0
    changed = {"multi@example.com", "new.customer@example.com", "lead.only@example.com"}
    volatile = {"last_intercom_sync"}
    for key, row in before.items():
        if key not in changed:
            assert {k: v for k, v in after[key].items() if k not in volatile} == {
                k: v for k, v in row.items() if k not in volatile
            }, key
    assert_matches_expected(warehouse, box)


def test_customer_lookup_ignores_case_and_spaces(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    data = __import__("json").loads(warehouse.gtm("customer", "  ANNUAL@example.com ", "--json").stdout)
    assert data["email_key"] == "annual@example.com" and data["intercom_contact_id"] == "seed_annual"
    assert {s["signal"] for s in data["signals"]} >= {"cancel_mention"}
    missing = warehouse.gtm("customer", "nobody@nowhere.example", check=False)
    assert missing.returncode == 1 and "no customer with email" in missing.stderr


def test_subscription_status_and_payment_failure_cases(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    rows = customers(warehouse)
    both = rows["both@example.com"]  # active + canceled: active, whatever the attribute says
    assert (both["subscription_status"], as_decimal(both["mrr"])) == ("active", Decimal("99.00"))
    failed = rows["failed@example.com"]
    assert "payment_failed" in failed["risk_signals"].split(",")
    assert failed["health_score"] >= 70 and failed["health_status"] == "at_risk"
    assert failed["health_status_capped_by"] == "payment_failed"
    cancelling = rows["cancelling@example.com"]
    assert (cancelling["health_score"], cancelling["health_status"]) == (70, "at_risk")
    assert cancelling["health_status_capped_by"] == "cancel_mention"
    for key in ("recovered@example.com", "oldfailure@example.com"):
        assert rows[key]["payment_failed_at"] is None, key
        assert "payment_failed" not in rows[key]["risk_signals"], key
    # every capping severity caps, and a medium signal alone does not
    capped = {r["health_status_capped_by"] for r in rows.values() if r["health_status_capped_by"]}
    assert {SEVERITY[s] for s in capped} == {"critical", "high"}, capped
    for row in rows.values():
        signals = set(filter(None, row["risk_signals"].split(",")))
        if row["health_score"] >= 70 and signals and all(SEVERITY[s] == "medium" for s in signals):
            assert row["health_status"] == "healthy", row["email_key"]
    stages = {r["customer_stage"] for r in rows.values()}
    assert stages == {"paying", "trialing", "churned", "lead"}, stages


def test_currency_is_never_added_without_a_rate(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, box = pipeline
    before = BEFORE_FX[warehouse.kind]
    expected_before = before["expected"]
    euro = before["customers"]["euro@example.com"]
    assert (euro["mrr"], as_decimal(euro["mrr_native"]), euro["currency"], euro["is_fx_missing"]) == (
        None,
        Decimal("250.00"),
        "eur",
        True,
    )
    for key, want in expected_before.items():
        got = before["customers"][key]
        assert (as_decimal(got["mrr"]), as_decimal(got["mrr_native"]), got["is_fx_missing"]) == (
            want.mrr,
            want.mrr_native,
            want.is_fx_missing,
        ), key
    scope = [w for w in expected_before.values() if w.customer_stage in HEALTH_SCOPE]
    summary = before["summary"]
    assert Decimal(str(summary["total_mrr"])) == sum((w.mrr for w in scope if w.mrr is not None), Decimal(0))
    unconverted: dict[str, Decimal] = {}
    for w in scope:
        if w.is_fx_missing:
            unconverted[w.currency] = unconverted.get(w.currency, Decimal(0)) + w.mrr_native
    # the sandbox bills in eur and gbp besides usd
    assert summary["unconverted_mrr"] == "; ".join(f"{c} {unconverted[c]:.2f}" for c in sorted(unconverted))
    assert "no exchange rate for EUR" in before["build_output"]
    # after `gtm fx refresh`: the ECB rate of the first day of T's month (the latest on or before it)
    rate = ecb_rates(box)("eur", AS_OF.replace(day=1))
    assert rate is not None
    after = customers(warehouse)["euro@example.com"]
    assert as_decimal(after["mrr"]) == (Decimal("250") * rate).quantize(Decimal("0.01"))
    assert after["is_fx_missing"] is False
    assert json.loads(warehouse.gtm("summary", "--json").stdout)["unconverted_mrr"] == ""


def expected_exit_state(want: Expected, contact: dict[str, Any]) -> str:
    """Seed 004's exit states in the contract's order, from the independent values (phase 1: no calls)."""
    signals = set(want.risk_signals)
    subs = (contact.get("custom_attributes") or {}).get("Stripe Subscriptions") or []
    trialing = any(s.get("status") == "trialing" for s in subs)
    opportunity = want.customer_stage == "trialing" or (want.customer_stage == "paying" and trialing)
    renewals = [
        datetime.fromtimestamp(s["current_period_end"], tz=timezone.utc).date()
        for s in subs
        if s.get("status") in ("active", "past_due")
        and (s.get("plan") or {}).get("interval") == "year"
        and s.get("current_period_end") is not None  # the seed cases carry no period
    ]
    days_to_renewal = (min(renewals) - AS_OF).days if renewals else None
    if want.health_status in ("high_risk", "critical") or any(SEVERITY[s] == "critical" for s in signals):
        return "at_risk"
    if want.has_open_priority_ticket:
        return "escalation_required"
    if opportunity and want.health_score > 75:
        return "expansion_ready"
    if days_to_renewal is not None and 0 <= days_to_renewal <= 90:
        return "renewal_focus"
    if want.health_status == "at_risk" or any(SEVERITY[s] == "medium" for s in signals):
        return "attention_needed"
    return "healthy"


def playbook() -> dict[str, dict[str, str]]:
    path = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "signal_actions.csv"
    with path.open() as handle:
        return {row["signal"]: row for row in csv.DictReader(handle)}


def test_scope_exit_states_and_actions_match_the_contract(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, box = pipeline
    expected = expected_now(box)
    contacts = {c["id"]: c for c in box.company.contacts()}
    in_scope = {k for k, w in expected.items() if w.customer_stage in HEALTH_SCOPE}
    at_risk = {k for k in in_scope if expected[k].health_status != "healthy"}
    assert {
        r["email_key"] for r in warehouse.query("select email_key from marts.at_risk_customers")
    } == at_risk
    summary = json.loads(warehouse.gtm("summary", "--json").stdout)
    assert summary["total_customers"] == len(in_scope)
    for status, cell in summary["health_distribution"].items():
        assert cell["count"] == sum(expected[k].health_status == status for k in in_scope), status
    statuses = [expected[k].health_status for k in in_scope]
    assert summary["at_risk_count"] == statuses.count("at_risk") + statuses.count("high_risk")
    assert summary["critical_count"] == statuses.count("critical")
    assert summary["at_risk_count"] + summary["critical_count"] == len(at_risk)
    for stage, count in summary["customers_by_stage"].items():
        assert count == sum(w.customer_stage == stage for w in expected.values()), stage

    states = {r["email_key"]: r for r in warehouse.query("select * from marts.customer_exit_states")}
    wrong = [
        (key, states[key]["exit_state"], expected_exit_state(want, contacts[want.contact_id]))
        for key, want in expected.items()
        if states[key]["exit_state"] != expected_exit_state(want, contacts[want.contact_id])
    ]
    assert not wrong, wrong[:10]
    assert len({r["exit_state"] for r in states.values()}) >= 4

    book = playbook()
    actions: dict[str, list[dict[str, Any]]] = {}
    for row in warehouse.query("select * from marts.customer_actions order by email_key, action_rank"):
        actions.setdefault(row["email_key"], []).append(row)
    for key, want in expected.items():
        state = expected_exit_state(want, contacts[want.contact_id])
        subs = (contacts[want.contact_id].get("custom_attributes") or {}).get("Stripe Subscriptions") or []
        reasons = set(want.risk_signals)
        if want.customer_stage == "trialing":
            reasons.add("trial_conversion")
        elif want.customer_stage == "paying" and any(s.get("status") == "trialing" for s in subs):
            reasons.add("second_subscription")
        if state != "healthy":
            reasons.add(state)
        ranked = sorted(reasons, key=lambda r: (int(book[r]["priority"]), r))[:5]
        got = actions.get(key, [])
        assert [a["reason"] for a in got] == ranked, key
        for action in got:
            assert action["due_date"] == AS_OF + timedelta(days=int(book[action["reason"]]["due_days"]))
            assert action["recommended_action"] == book[action["reason"]]["recommended_action"]


def test_cli_json_agrees_with_the_marts_for_every_customer(pipeline: tuple[Warehouse, Sandbox]) -> None:
    from gtm.customer360 import customer_view
    from gtm.settings import Settings
    from gtm.warehouse import connect

    warehouse, _ = pipeline
    at_risk_json = json.loads(warehouse.gtm("at-risk", "--limit", "100000", "--json").stdout)
    mart = warehouse.query("select * from marts.at_risk_customers order by risk_rank")
    assert [r["email"] for r in at_risk_json] == [r["email"] for r in mart]
    assert [r["recommended_action"] for r in at_risk_json] == [r["recommended_action"] for r in mart]
    assert [r["exit_state"] for r in at_risk_json] == [r["exit_state"] for r in mart]

    states = {r["email_key"]: r for r in warehouse.query("select * from marts.customer_exit_states")}
    actions: dict[str, list[dict[str, Any]]] = {}
    for row in warehouse.query("select * from marts.customer_actions order by email_key, action_rank"):
        actions.setdefault(row["email_key"], []).append(row)
    rows = customers(warehouse)
    saved = dict(__import__("os").environ)
    __import__("os").environ.update(warehouse.env)
    try:
        config = Settings.from_env()
    finally:
        __import__("os").environ.clear()
        __import__("os").environ.update(saved)
    with connect(config, read_only=True) as connection:
        for key, row in rows.items():
            view = customer_view(connection, key)
            assert view["exitState"] == states[key]["exit_state"], key
            assert view["healthSummary"]["status"] == row["health_status"], key
            assert [a["reason"] for a in view["recommendedActions"]] == [
                a["reason"] for a in actions.get(key, [])
            ]
            assert [a["dueDate"] for a in view["recommendedActions"]] == [
                a["due_date"].isoformat() for a in actions.get(key, [])
            ], key
    sample = next(iter(sorted(at_risk_json, key=lambda r: r["risk_rank"])))["email"]
    cli_view = json.loads(warehouse.gtm("customer", sample, "--json").stdout)
    assert cli_view["exitState"] == states[sample.strip().lower()]["exit_state"]


def test_history_keeps_one_row_per_customer_and_date(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    # AS_OF has been built twice already (the fixture, test_sync_and_build_twice_changes_nothing): a date
    # rebuilt replaces its rows; a new date adds its own
    warehouse.gtm("build", "--as-of", "2026-11-21")
    rows = warehouse.query(
        "select as_of_date, count(*) as n, count(distinct email_key) as k"
        " from marts.customer_health_history group by 1 order by 1"
    )
    assert [str(r["as_of_date"]) for r in rows] == ["2026-11-20", "2026-11-21"]
    assert all(r["n"] == r["k"] == len(customers(warehouse)) for r in rows)


def test_no_secret_in_any_output_or_file(pipeline: tuple[Warehouse, Sandbox], dbt_dirs: Path) -> None:
    warehouse, _ = pipeline
    secrets = [TOKEN] + ([PG_PASSWORD] if warehouse.kind == "postgres" else [])
    assert warehouse.outputs
    for output in warehouse.outputs:
        for secret in secrets:
            assert secret not in output
    for folder in (warehouse.workdir, dbt_dirs):
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 20_000_000 and path.suffix not in (".duckdb", ".wal"):
                text = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in text, path
