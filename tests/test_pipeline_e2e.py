"""End to end, as a user runs it: sandbox over HTTP -> `gtm sync` -> `gtm build` -> marts, on DuckDB and
PostgreSQL, with every number checked against tests/expected.py (computed from the generated records)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    AS_OF,
    PG_PASSWORD,
    PROJECT_DIR,
    TOKEN,
    WAREHOUSES,
    Sandbox,
    Warehouse,
    _drop_postgres_database,
    new_warehouse,
)
from expected import Expected, expected_customers

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
            "currency": "usd",
        },
    }
    if quantity is not None:
        item["quantity"] = quantity
    return item


def payment(pid: str, amount: int, refunded: int = 0, status: str = "succeeded") -> dict[str, Any]:
    return {
        "id": pid,
        "amount": amount,
        "amount_refunded": refunded,
        "currency": "usd",
        "created": ANCHOR_TS - 10 * DAY,
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


@pytest.fixture(scope="module", params=WAREHOUSES)
def pipeline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[tuple[Warehouse, Sandbox]]:
    """One sandbox company synced and built into a fresh warehouse; the tests below run in order on it."""
    box = Sandbox(customers=300, seed=7, token=TOKEN, anchor=AS_OF)
    for contact in SEED_CASES.values():
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
    warehouse, database = new_warehouse(request.param, tmp_path_factory.mktemp(request.param), dbt_dirs)
    warehouse.env.update(box.env())
    warehouse.gtm("sync")
    warehouse.gtm("build")
    yield warehouse, box
    box.close()
    if database:
        _drop_postgres_database(database)


def fx_rates() -> dict[str, Decimal]:
    path = PROJECT_DIR / "dbt_project" / "seeds" / "fx_rates.csv"
    with path.open() as handle:
        return {row["currency"]: Decimal(row["rate_to_reporting"]) for row in csv.DictReader(handle)}


def expected_now(box: Sandbox) -> dict[str, Expected]:
    return expected_customers(box.company.contacts(), box.company.conversations(), AS_OF, fx_rates())


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
            "churn_risk": (got["churn_risk"], want.churn_risk),
            "data_quality_score": (got["data_quality_score"], want.data_quality_score),
            "risk_signals": (sorted(filter(None, (got["risk_signals"] or "").split(","))), want.risk_signals),
        }
        mismatches += [f"{key} {name}: got {g!r}, expected {w!r}" for name, (g, w) in pairs.items() if g != w]
    assert not mismatches, f"{len(mismatches)} mismatches, e.g.:\n" + "\n".join(mismatches[:15])


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
    rows = list(customers(warehouse).values())
    summary = __import__("json").loads(warehouse.gtm("summary", "--json").stdout)
    assert summary["total_customers"] == len(rows)
    total_mrr = sum((Decimal(str(r["mrr"])) for r in rows if r["mrr"] is not None), Decimal(0))
    assert Decimal(str(summary["total_mrr"])) == total_mrr
    for status, cell in summary["health_distribution"].items():
        assert cell["count"] == sum(r["health_status"] == status for r in rows)
    assert summary["at_risk_count"] == sum(r["health_status"] in ("at_risk", "high_risk") for r in rows)
    at_risk = __import__("json").loads(warehouse.gtm("at-risk", "--limit", "5", "--json").stdout)
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


def test_history_keeps_one_row_per_customer_and_date(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    warehouse.gtm("build", "--as-of", "2026-11-21")
    warehouse.gtm("build", "--as-of", "2026-11-21")
    rows = warehouse.query(
        "select as_of_date, count(*) as n, count(distinct email_key) as k"
        " from marts.customer_health_history group by 1 order by 1"
    )
    assert [str(r["as_of_date"]) for r in rows] == ["2026-11-20", "2026-11-21"]
    assert all(r["n"] == r["k"] == len(customers(warehouse)) for r in rows)


def test_customer_lookup_ignores_case_and_spaces(pipeline: tuple[Warehouse, Sandbox]) -> None:
    warehouse, _ = pipeline
    data = __import__("json").loads(warehouse.gtm("customer", "  ANNUAL@example.com ", "--json").stdout)
    assert data["email_key"] == "annual@example.com" and data["intercom_contact_id"] == "seed_annual"
    assert {s["signal"] for s in data["signals"]} >= {"cancel_mention"}
    missing = warehouse.gtm("customer", "nobody@nowhere.example", check=False)
    assert missing.returncode == 1 and "no customer with email" in missing.stderr


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
