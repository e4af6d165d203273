"""One bad value never stops a build (issue 8, item 4): a subscription of 10^18 cents and several contacts
sharing one bad subscription id are quarantined with distinct keys, the build passes and MRR is that of
the other customers."""

from __future__ import annotations

from decimal import Decimal

from conftest import Sandbox, Warehouse
from test_pipeline_e2e import payment, stripe_contact, sub


def test_overflowing_amounts_and_shared_bad_ids_are_quarantined(
    warehouse: Warehouse, sandbox: Sandbox
) -> None:
    sandbox.control(
        "POST",
        "intercom/contacts",
        stripe_contact("huge_1", "huge@example.com", [sub("s_huge", 10**18)], [payment("p_huge", 10**18)]),
    )
    for n in range(3):  # three contacts, one subscription id, each with a negative amount
        sandbox.control(
            "POST",
            "intercom/contacts",
            stripe_contact(f"shared_{n}", f"shared{n}@example.com", [sub("s_shared", -100)], []),
        )
    warehouse.env.update(sandbox.env())
    warehouse.gtm("sync")
    warehouse.gtm("build")  # used to fail: DECIMAL(18,2) overflow, unique test on quarantine keys
    rows = warehouse.query(
        "select record_id, raw_values from audit.quarantined_records where record_id in ('s_huge', 'p_huge',"
        " 's_shared') order by record_id, raw_values"
    )
    assert [row["record_id"] for row in rows] == ["p_huge", "s_huge", "s_shared", "s_shared", "s_shared"]
    assert all("implausible amount" in row["raw_values"] for row in rows[:2])
    huge = warehouse.query("select mrr from marts.unified_customers where email_key = 'huge@example.com'")
    assert huge and Decimal(str(huge[0]["mrr"] or 0)) == 0
