"""Stripe and ChartMogul loaders against the sandbox over real HTTP: everything lands, at the minimum of
requests, and an incremental Stripe sync reads only what its events name."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AS_OF, TOKEN
from test_loaders_crm import Box, InFlight, per_path

from loaders import SOURCES
from sandbox.server import start_in_thread
from sandbox.stripe import EVENT_DAYS


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    server = start_in_thread(customers=200, seed=5, token=TOKEN, anchor=AS_OF)
    yield Box(server, tmp_path)
    server.shutdown()
    server.server_close()


def pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))


def test_stripe_full_then_incremental_sync_at_the_minimum_of_requests(box: Box) -> None:
    api = box.server.vendors["stripe"]
    ledger = api.ledger()
    now = api.today()
    full = box.sync("stripe", now=now)
    lists = ("customers", "subscriptions", "prices", "coupons", "invoices", "charges", "refunds")
    for name in lists:
        assert full["rows"][name] == len(ledger.objects[name]), name
        assert per_path(full["requests"], f"/v1/{name}") == pages(len(ledger.objects[name]), 100), name
    updates = [
        e
        for e in ledger.objects["events"]
        if e["type"] == "customer.subscription.updated" and e["created"] >= now - EVENT_DAYS * 86_400
    ]
    assert full["rows"]["subscription_events"] == len(updates) > 0
    # one request for the events cursor, one listing per resource, the subscription update events
    minimum = 1 + sum(pages(len(ledger.objects[name]), 100) for name in lists) + pages(len(updates), 100)
    assert full["made"] == minimum
    assert box.query("select count(*) from raw_stripe.invoices__lines__data")[0][0] == sum(
        len(i["lines"]["data"]) for i in ledger.objects["invoices"]
    )
    assert api.versions_seen == {"2024-06-20": full["made"]}

    subscriptions = [s for s in ledger.objects["subscriptions"] if s["status"] == "active"]
    changed = subscriptions[: max(2, len(subscriptions) // 100)]  # 1% of the subscriptions, two at least
    # one change by itself, the others in one batch: the sandbox's two control routes
    box.control("POST", f"stripe/subscriptions/{changed[0]['id']}", {"quantity": 7})
    box.control(
        "POST", "stripe/subscriptions", {"changes": [{"id": s["id"], "quantity": 7} for s in changed[1:]]}
    )
    incremental = box.sync("stripe", now=api.today())
    assert incremental["rows"]["subscriptions"] == len(changed)
    assert per_path(incremental["requests"], "/v1/subscriptions/") == len(changed)
    # events, one read per changed subscription, prices and coupons: nothing else
    assert incremental["made"] == 1 + len(changed) + 2
    quantities = box.query(
        "select s.id, i.quantity from raw_stripe.subscriptions s"
        " join raw_stripe.subscriptions__items__data i on i._dlt_parent_id = s._dlt_id"
        f" where s.id in ({', '.join(repr(s['id']) for s in changed)})"
    )
    assert {quantity for _, quantity in quantities} == {7}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_stripe_reads_the_changed_objects_concurrently_in_the_ids_order(box: Box, concurrency: int) -> None:
    api = box.server.vendors["stripe"]
    box.sync("stripe", now=api.today())
    active = [s for s in api.ledger().objects["subscriptions"] if s["status"] == "active"][:8]
    box.control("POST", "stripe/subscriptions", {"changes": [{"id": s["id"], "quantity": 9} for s in active]})
    session = InFlight("/v1/subscriptions/")
    source = SOURCES["stripe"].load()(
        access_token=TOKEN,
        base_url=f"{box.server.base_url}/stripe",
        session=session,
        concurrency=concurrency,
        now=api.today(),
    )
    read: list[str] = []
    source.resources["subscriptions"].add_map(lambda row: read.append(row.get("id")) or row)
    box.pipeline("stripe").run(source)
    assert session.peak == concurrency
    assert read == sorted(s["id"] for s in active)
    quantities = box.query(
        "select distinct i.quantity from raw_stripe.subscriptions s"
        " join raw_stripe.subscriptions__items__data i on i._dlt_parent_id = s._dlt_id"
        f" where s.id in ({', '.join(repr(s['id']) for s in active)})"
    )
    assert quantities == [(9,)]


def test_stripe_cursor_older_than_the_events_window_relists_everything(box: Box) -> None:
    api = box.server.vendors["stripe"]
    box.sync("stripe", now=api.today())
    late = box.sync("stripe", now=api.today() + 31 * 86_400)
    assert per_path(late["requests"], "/v1/invoices") == pages(len(api.ledger().objects["invoices"]), 100)


def test_chartmogul_sync_lands_customers_and_activities(box: Box) -> None:
    api = box.server.vendors["chartmogul"]
    customers, activities = api._data()
    first = box.sync("chartmogul")
    assert first["rows"]["customers"] == len(customers)
    assert first["rows"]["activities"] == len(activities)
    assert first["made"] == pages(len(customers), 200) + pages(len(activities), 200)
    again = box.sync("chartmogul")
    assert again["rows"].get("activities", 0) < len(activities)  # only the restatement window
    assert box.query("select count(*) from raw_chartmogul.activities")[0][0] == len(activities)


def test_stripe_errors_fail_in_one_line_and_429_is_waited_out(box: Box) -> None:
    box.control("POST", "faults", {"path_prefix": "/stripe/v1/customers", "status": 429, "count": 2})
    result = box.sync("stripe", now=box.server.vendors["stripe"].today())
    assert result["rows"]["customers"] == len(box.server.vendors["stripe"].ledger().objects["customers"])
    assert len(box.waits) >= 2
    with pytest.raises(Exception, match="401"):
        box.sync("stripe", token="wrong", now=box.server.vendors["stripe"].today())
