"""Revenue timeline end to end on both warehouses: the sandbox's Stripe and ChartMogul synced by `gtm sync`,
built by `gtm build`, checked against values computed here from the sandbox's own subscription histories
(tests/expected_revenue.py), never from the marts."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import expected_revenue as er
import pytest
from conftest import AS_OF, TOKEN, WAREHOUSES, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from expected import expected_customers

from sandbox.company import SLOTS

CENT = Decimal("0.01")


@pytest.fixture(scope="module", params=WAREHOUSES)
def revenue(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[tuple[Warehouse, Sandbox, dict[str, er.Customer]]]:
    box = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF)
    warehouse, database = new_warehouse(request.param, tmp_path_factory.mktemp(request.param), dbt_dirs)
    warehouse.env.update(box.env(revenue=True))
    warehouse.gtm("sync")
    warehouse.gtm("build")
    yield warehouse, box, er.customers(box.company)
    box.close()
    if database:
        _drop_postgres_database(database)


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT)


def slot_key(box: Sandbox, kind: str) -> str:
    index = next(i for i in range(box.company.customers) if SLOTS.get(i % 100) == kind)
    return box.company.person(index)["email"].strip().lower()


def expected_moves(customers: dict[str, er.Customer]) -> set[tuple]:
    return {
        (key, day, kind, currency, (amount / 100).quantize(CENT))
        for key, day, kind, currency, amount in er.movements(customers.values(), AS_OF)
    }


def actual_moves(warehouse: Warehouse) -> set[tuple]:
    rows = warehouse.query(
        "select customer_key, movement_date, movement_type, currency, amount_native"
        " from marts.revenue_movements where movement_type != 'fx'"
    )
    return {
        (r["customer_key"], r["movement_date"], r["movement_type"], r["currency"], money(r["amount_native"]))
        for r in rows
    }


def test_every_movement_of_the_histories_and_no_other(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    expected, actual = expected_moves(customers), actual_moves(warehouse)
    assert len(expected) > 100
    assert actual - expected == set() and expected - actual == set()


# slot kind -> the business movements (type, native amount) its customer has, in order
EDGE_CASES: dict[str, Any] = {
    "upgrade_mid_period": [("new_business", 99), ("expansion", 200)],
    "upgrade_recent": [("new_business", 99), ("expansion", 200)],
    "downgrade_mid_period": [("new_business", 299), ("contraction", -200)],
    "seat_increase": [("new_business", 897), ("expansion", 598)],
    "plan_switch_same_day": [("new_business", 99), ("expansion", 200)],
    "second_subscription": [("new_business", 99), ("expansion", 58)],
    "cancel_at_period_end": [("new_business", 99), ("churn", -99)],
    "cancel_immediately": [("new_business", 99), ("churn", -99)],
    "churn_reactivation": [("new_business", 99), ("churn", -99), ("reactivation", 99)],
    "trial_converted": [("new_business", 99)],
    "trial_lapsed": [],
    "past_due_recovered": [("new_business", 99)],
    "past_due_unpaid": [("new_business", 99), ("churn", -99)],
    "coupon_percent_forever": [("new_business", 99), ("contraction", Decimal("-19.80"))],
    "coupon_amount_repeating": [("new_business", 99), ("contraction", -50)],
    "coupon_once": [("new_business", 99)],
    "metered_and_one_time": [("new_business", 99)],
    "tax": [("new_business", 99)],
    "refund": [("new_business", 99)],
    "currency_gbp": [("new_business", 99)],
    "draft_and_void_invoices": [("new_business", 99)],
}


@pytest.mark.parametrize("kind", sorted(EDGE_CASES))
def test_each_edge_case_moves_mrr_on_the_day_it_happens(revenue: tuple, kind: str) -> None:
    warehouse, box, customers = revenue
    key = slot_key(box, kind)
    rows = warehouse.query(
        "select movement_date, movement_type, amount_native from marts.revenue_movements"
        f" where customer_key = '{key}' and movement_type != 'fx' order by movement_date"
    )
    assert [(r["movement_type"], money(r["amount_native"])) for r in rows] == [
        (t, Decimal(a).quantize(CENT)) for t, a in EDGE_CASES[kind]
    ]
    customer = customers[key]
    for row in rows:  # on that very day, and not the day before
        day = row["movement_date"]
        currency = next(iter(er.currencies(customer)))
        assert (
            customer.mrr(day, currency) - customer.mrr(day - er.DAY, currency)
            == Decimal(str(row["amount_native"])) * 100
        )


def test_two_stripe_customers_with_one_email_add_up(revenue: tuple) -> None:
    warehouse, box, customers = revenue
    key = slot_key(box, "two_stripe_customers")
    assert len({s.sub_id for s in customers[key].subscriptions}) == 2
    rows = warehouse.query(
        "select mrr_native from marts.revenue_mrr_monthly"
        f" where customer_key = '{key}' order by month_start desc"
    )
    assert (
        money(rows[0]["mrr_native"])
        == (customers[key].mrr(AS_OF, "usd") / 100).quantize(CENT)
        == Decimal("157.00")
    )


def test_foreign_currency_is_left_out_of_reporting_amounts(revenue: tuple) -> None:
    warehouse, box, _ = revenue
    key = slot_key(box, "currency_gbp")
    rows = warehouse.query(
        f"select amount_reporting from marts.revenue_movements where customer_key = '{key}'"
    )
    assert rows and all(r["amount_reporting"] is None for r in rows)
    latest = warehouse.query(
        "select unconverted_ending_mrr from marts.revenue_monthly order by month_start desc"
    )
    assert "gbp" in latest[0]["unconverted_ending_mrr"]


def test_monthly_table(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    expected = er.monthly(customers, AS_OF)
    rows = {r["month_start"]: r for r in warehouse.query("select * from marts.revenue_monthly")}
    assert set(rows) == set(expected)
    for month, want in expected.items():
        got = rows[month]
        for name in ("starting_mrr", "ending_mrr"):
            assert money(got[name]) == want[name].quantize(CENT), (month, name)
        for kind in ("new_business", "expansion", "reactivation", "contraction", "churn"):
            assert money(got[f"{kind}_mrr"]) == want[kind].quantize(CENT), (month, kind)
        for name in (
            "paying_customers_start",
            "paying_customers_end",
            "new_customers",
            "churned_customers",
            "reactivated_customers",
        ):
            assert got[name] == want[name], (month, name)
        assert money(got["fx_mrr"]) == 0
    latest = rows[max(rows)]
    losses = latest["contraction_mrr"] + latest["churn_mrr"]
    if losses:
        gains = latest["new_business_mrr"] + latest["expansion_mrr"] + latest["reactivation_mrr"]
        assert abs(
            Decimal(str(latest["quick_ratio"])) - Decimal(str(gains)) / -Decimal(str(losses))
        ) < Decimal("0.001")


def test_retention_monthly_and_trailing_twelve_months(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    rows = {
        (r["period_type"], r["period_end"]): r
        for r in warehouse.query("select * from marts.revenue_retention")
    }
    p0 = datetime.date(AS_OF.year - 1, AS_OF.month, AS_OF.day)
    previous_month_end = AS_OF.replace(day=1) - er.DAY
    for (kind, p1), start in ((("ttm", AS_OF), p0), (("monthly", AS_OF), previous_month_end)):
        want = er.retention(customers, start, p1)
        got = rows[(kind, p1)]
        assert got["customers_start"] == want["customers_start"]
        assert got["customers_retained"] == want["customers_retained"]
        for name in ("nrr", "grr", "logo_retention"):
            assert abs(Decimal(str(got[name])) - want[name]) < Decimal("0.000001"), (kind, name)
    assert rows[("ttm", AS_OF)]["grr"] < 1  # the histories churn and contract within the year


def test_cohorts(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    want = er.cohorts(customers, AS_OF)
    got = {
        (r["cohort_month"], r["month_number"]): r["customers"]
        for r in warehouse.query("select * from marts.revenue_cohorts")
    }
    assert got == want


def test_reconciliation_labels(revenue: tuple) -> None:
    warehouse, box, _ = revenue
    rows = warehouse.query("select * from marts.revenue_reconciliation")
    labels = {(r["customer_key"], r["reconciliation_label"]) for r in rows}
    assert not [r for r in rows if r["reconciliation_label"] == "unexplained"]
    assert (slot_key(box, "past_due_unpaid"), "unpaid_policy") in labels
    assert (slot_key(box, "coupon_once"), "discount") in labels
    # ChartMogul keeps an immediately canceled plan to the end of its paid period
    assert (slot_key(box, "cancel_immediately"), "churn_timing") in labels
    assert (slot_key(box, "plan_switch_same_day"), "churn_timing") in labels
    for kind in ("upgrade_mid_period", "upgrade_recent", "seat_increase", "churn_reactivation", "tax"):
        assert {label for key, label in labels if key == slot_key(box, kind)} == {"match"}, kind


def test_gtm_revenue_prints_the_waterfall_and_retention(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    expected = er.monthly(customers, AS_OF)
    data = json.loads(warehouse.gtm("revenue", "--months", "3", "--json").stdout)
    assert [m["month_start"] for m in data["months"]] == [d.isoformat() for d in sorted(expected)[-3:]]
    for month in data["months"]:
        want = expected[datetime.date.fromisoformat(month["month_start"])]
        assert Decimal(str(month["ending_mrr"])).quantize(CENT) == want["ending_mrr"].quantize(CENT)
    want_ttm = er.retention(customers, datetime.date(AS_OF.year - 1, AS_OF.month, AS_OF.day), AS_OF)
    assert abs(Decimal(str(data["trailing_twelve_months"]["nrr"])) - want_ttm["nrr"]) < Decimal("0.000001")
    table = warehouse.gtm("revenue").stdout
    assert "MRR waterfall" in table and "NRR" in table and "GRR" in table and "quick ratio" in table


def expected_mrr(customer: er.Customer, day: datetime.date) -> tuple[Decimal | None, Decimal | None]:
    """(mrr in usd, or None when MRR in another currency has no rate; mrr_native for one currency)."""
    paying = {c: customer.mrr(day, c) for c in er.currencies(customer) if customer.mrr(day, c) > 0}
    mrr = None if set(paying) - {"usd"} else (paying.get("usd", Decimal(0)) / 100).quantize(CENT)
    native = None if len(paying) > 1 else (sum(paying.values(), Decimal(0)) / 100).quantize(CENT)
    return mrr, native


def test_unified_customers_take_stripe_as_revenue_of_record(revenue: tuple) -> None:
    warehouse, _, customers = revenue
    rows = {r["email_key"]: r for r in warehouse.query("select * from marts.unified_customers")}
    stripe = {key: row for key, row in rows.items() if row["revenue_basis"] == "stripe"}
    assert len(stripe) > 50
    stages = set()
    for key, row in stripe.items():
        customer = customers[key]
        mrr, native = expected_mrr(customer, AS_OF)
        assert (money(row["mrr"]), money(row["mrr_native"])) == (mrr, native), key
        had_mrr = any(
            customer.mrr(day, c) > 0
            for day in customer.change_days()
            if day < AS_OF
            for c in er.currencies(customer)
        )
        if native:
            assert row["customer_stage"] == "paying", key
        elif row["customer_stage"] != "trialing":
            assert row["customer_stage"] == ("churned" if had_mrr else "lead"), key
        stages.add(row["customer_stage"])
    assert stages == {"paying", "trialing", "churned", "lead"}


def test_stripe_customers_are_a_source_with_their_plan_and_status(revenue: tuple) -> None:
    """metrics.md Identity: a customer exists when any source has a valid email for them, Stripe included;
    on the Stripe basis plan_name, plan_price and subscription_status come from the Stripe subscriptions."""
    warehouse, box, _ = revenue
    intercom = set(expected_customers(box.company.contacts(), [], AS_OF))
    stripe = er.stripe_keys(box.company)
    rows = {r["email_key"]: r for r in warehouse.query("select * from marts.unified_customers")}
    assert set(rows) == intercom | stripe
    for key, row in rows.items():
        count = (key in intercom) + (key in stripe)
        assert (row["source_count"], row["match_confidence"]) == (
            count,
            "high" if count >= 2 else "medium",
        ), key
    plans = er.stripe_plans(box.company, AS_OF)
    assert set(plans) == stripe
    for key in stripe:
        row = rows[key]
        status, name, price = plans[key]
        assert row["revenue_basis"] == "stripe", key
        assert (row["subscription_status"], row["plan_name"], money(row["plan_price"])) == (
            status,
            name,
            money(price),
        ), key
    assert {plan[0] for plan in plans.values()} >= {"active", "trialing", "canceled"}


def month_ends(as_of: datetime.date, months: int = 12) -> list[tuple[datetime.date, datetime.date]]:
    """(first day, last day or T) of the `months` months ending with T's month."""
    firsts = [er.plus_months(as_of.replace(day=1), -k) for k in range(months - 1, -1, -1)]
    return [(first, min(er.month_end(first), as_of)) for first in firsts]


@pytest.mark.parametrize(
    "kind", ["churn_reactivation", "upgrade_recent", "downgrade_mid_period", "currency_gbp", "seat_increase"]
)
def test_customer_360_shows_mrr_history_and_movements(revenue: tuple, kind: str) -> None:
    warehouse, box, customers = revenue
    key = slot_key(box, kind)
    customer = customers[key]
    view = json.loads(warehouse.gtm("customer", key, "--json").stdout)
    history = view["revenueHistory"]
    assert history["connected"] and history["basis"] == "stripe" and history["note"] is None
    want_months = []
    for first, end in month_ends(AS_OF):
        paying = {c: customer.mrr(end, c) / 100 for c in er.currencies(customer) if customer.mrr(end, c) > 0}
        usd = None if set(paying) - {"usd"} else paying.get("usd", Decimal(0)).quantize(CENT)
        want_months.append((first.isoformat(), usd, {c: v.quantize(CENT) for c, v in paying.items()}))
    got_months = [
        (
            m["month"],
            money(m["mrr"]),
            {n["currency"]: money(n["mrrNative"]) for n in m["native"]},
        )
        for m in history["monthlyMrr"]
    ]
    assert got_months == want_months
    assert any(native for _, _, native in want_months)
    want_moves = sorted(
        (day.isoformat(), move, currency, (amount / 100).quantize(CENT))
        for _, day, move, currency, amount in er.movements([customer], AS_OF)
    )
    got_moves = sorted(
        (m["date"], m["type"], m["currency"], money(m["amountNative"]))
        for m in history["movements"]
        if m["type"] != "fx"
    )
    assert got_moves == want_moves and want_moves
    for move in history["movements"]:
        assert move["amount"] == (move["amountNative"] if move["currency"] == "usd" else None) or (
            move["type"] == "fx"
        )
    text = warehouse.gtm("customer", key).stdout
    assert "MRR, last 12 months" in text and "MRR movements" in text
    first_move = want_moves[0]
    assert first_move[0] in text and first_move[1].replace("_", " ") in text


def test_customer_360_without_stripe_history_says_so(revenue: tuple) -> None:
    warehouse, box, _ = revenue
    stripe = er.stripe_keys(box.company)
    key = next(k for k in sorted(expected_customers(box.company.contacts(), [], AS_OF)) if k not in stripe)
    history = json.loads(warehouse.gtm("customer", key, "--json").stdout)["revenueHistory"]
    assert history == {
        "connected": True,
        "basis": None,
        "monthlyMrr": [],
        "movements": [],
        "note": "No revenue history: no Stripe customer has this email.",
    }
    assert "no Stripe customer has this email" in warehouse.gtm("customer", key).stdout


BACKFILL_DAYS = [AS_OF - datetime.timedelta(days=days) for days in (28, 21, 14, 7)]


def history_differences(warehouse: Warehouse, day: datetime.date, want: dict[str, Decimal]) -> list[tuple]:
    """(customer, MRR in the snapshot of `day`, expected MRR) where the two differ: what a failure names."""
    rows = warehouse.query(
        f"select email_key, mrr from marts.customer_health_history where as_of_date = '{day}'"
    )
    got = {r["email_key"]: money(r["mrr"]) or Decimal(0) for r in rows}
    return sorted(
        (key, got.get(key), value)
        for key, value in want.items()
        if got.get(key, Decimal(0)) != value.quantize(CENT)
    ) + sorted((key, mrr, None) for key, mrr in got.items() if mrr and key not in want)


def test_backfill_trending_report_shows_the_movements_of_the_histories(revenue: tuple) -> None:
    """Weekly snapshots from a backfill: the trending report's movements between snapshots are the
    histories' MRR changes between those days (reporting currency; MRR without a rate counts as none)."""
    warehouse, box, customers = revenue
    warehouse.gtm(
        "backfill",
        "--from",
        BACKFILL_DAYS[0].isoformat(),
        "--to",
        BACKFILL_DAYS[-1].isoformat(),
        "--step",
        "7",
    )
    stripe = er.stripe_keys(box.company)

    def mrr(key: str, day: datetime.date) -> Decimal:
        return expected_mrr(customers[key], day)[0] or Decimal(0)

    rows = {r["as_of_date"]: r for r in warehouse.query("select * from marts.report_trending_metrics")}
    assert sorted(rows) == [*BACKFILL_DAYS, AS_OF]
    moved = Decimal(0)
    for previous, day in zip(sorted(rows), sorted(rows)[1:], strict=False):
        before = {key: mrr(key, previous) for key in stripe}
        after = {key: mrr(key, day) for key in stripe}
        want = {
            "previous_as_of_date": previous,
            "paying_customers": sum(1 for v in after.values() if v > 0),
            "total_mrr": sum(after.values(), Decimal(0)),
            "previous_total_mrr": sum(before.values(), Decimal(0)),
            "new_paying_customers": sum(1 for k in stripe if before[k] == 0 < after[k]),
            "churned_customers": sum(1 for k in stripe if before[k] > 0 == after[k]),
            "new_mrr": sum((after[k] for k in stripe if before[k] == 0), Decimal(0)),
            "expansion_mrr": sum(
                (after[k] - before[k] for k in stripe if 0 < before[k] < after[k]), Decimal(0)
            ),
            "contraction_mrr": sum(
                (before[k] - after[k] for k in stripe if before[k] > after[k] > 0), Decimal(0)
            ),
            "churned_mrr": sum((before[k] for k in stripe if after[k] == 0), Decimal(0)),
        }
        got = rows[day]
        for name, value in want.items():
            actual = got[name] if name == "previous_as_of_date" or "customers" in name else money(got[name])
            assert actual == value, (day, name, history_differences(warehouse, previous, before))
        moved += want["new_mrr"] + want["expansion_mrr"] + want["contraction_mrr"] + want["churned_mrr"]
    assert moved > 0  # the histories do move within these weeks


def test_mrr_of_a_past_day_is_that_days_mrr(revenue: tuple) -> None:
    """Runs last: it rebuilds the warehouse as of a past T."""
    warehouse, _, customers = revenue
    past = datetime.date(2026, 9, 15)
    warehouse.gtm("build", "--as-of", past.isoformat())
    rows = warehouse.query(
        "select email_key, mrr, mrr_native from marts.unified_customers"
        f" where revenue_basis = 'stripe' and as_of_date = '{past}'"
    )
    assert rows
    changed = 0
    for row in rows:
        customer = customers[row["email_key"]]
        assert (money(row["mrr"]), money(row["mrr_native"])) == expected_mrr(customer, past), row["email_key"]
        changed += expected_mrr(customer, past) != expected_mrr(customer, AS_OF)
    assert changed > 5  # the past differs from today for the customers whose revenue moved since
