"""A wrong as-of date cannot poison history (issue 8, item 6): a future date is refused, a snapshot built
for a much earlier date never becomes "the previous" of a later build, and `gtm history drop` removes it."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import AS_OF, Sandbox, Warehouse


def candidates(warehouse: Warehouse) -> list[tuple[str, str]]:
    rows = warehouse.query(
        "select alert_rule, dedupe_key from marts.alert_candidates order by alert_rule, dedupe_key"
    )
    return [(row["alert_rule"], row["dedupe_key"]) for row in rows]


def test_past_as_of_build_changes_nothing_later_builds_compare_with(
    warehouse: Warehouse, sandbox: Sandbox
) -> None:
    warehouse.env.update(sandbox.env())
    warehouse.gtm("sync")
    warehouse.gtm("build")
    clean = candidates(warehouse)
    unified = warehouse.query(
        "select email_key, previous_as_of_date, mrr_change_pct from marts.unified_customers order by email_key"
    )

    future = (date.today() + timedelta(days=1)).isoformat()
    refused = warehouse.gtm("build", "--as-of", future, check=False)
    assert refused.returncode == 1 and "after today" in refused.stderr
    assert refused.stderr.count("\n") == 1

    warehouse.gtm("build", "--as-of", "2020-01-01")
    warehouse.gtm("build")
    assert candidates(warehouse) == clean  # no health_drop from comparing with 2020
    assert (
        warehouse.query(
            "select email_key, previous_as_of_date, mrr_change_pct from marts.unified_customers order by email_key"
        )
        == unified
    )

    dropped = warehouse.gtm("history", "drop", "--date", "2020-01-01")
    assert "removed" in dropped.stderr and " 0 " not in dropped.stderr
    dates = warehouse.query("select distinct as_of_date from marts.customer_health_history")
    assert [str(row["as_of_date"]) for row in dates] == [AS_OF.isoformat()]
