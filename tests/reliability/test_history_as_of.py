"""A wrong as-of date cannot poison history (issue 8, item 6): a future date is refused, a snapshot built
for a much earlier date never becomes "the previous" of a later build, and `gtm history drop` removes it.
A build for a past date shows what could be known then: no customer no source knew by the end of T's day, no
dated fact after it, no negative day count (metrics.md, point in time)."""

from __future__ import annotations

from datetime import date, timedelta

from conftest import AS_OF, TOKEN, Sandbox, Warehouse


def candidates(warehouse: Warehouse) -> list[tuple[str, str]]:
    rows = warehouse.query(
        "select alert_rule, dedupe_key from marts.alert_candidates order by alert_rule, dedupe_key"
    )
    return [(row["alert_rule"], row["dedupe_key"]) for row in rows]


def known_then(warehouse: Warehouse, as_of: date) -> int:
    """The number of customers a build for `as_of` published, after checking it shows nothing from later."""
    end_of_day = (as_of + timedelta(days=1)).isoformat()
    later = warehouse.query(
        "select email_key, signup_date, userflow_signed_up_at, last_seen_at, last_login_at, last_call_at,"
        " last_meeting_at, last_deal_lost_date, days_since_seen, days_since_last_call"
        " from marts.unified_customers"
        f" where signup_date > '{as_of.isoformat()}' or userflow_signed_up_at >= '{end_of_day}'"
        f" or last_seen_at >= '{end_of_day}' or last_login_at >= '{end_of_day}'"
        f" or last_call_at >= '{end_of_day}' or last_meeting_at >= '{end_of_day}'"
        f" or last_deal_lost_date > '{as_of.isoformat()}'"
        " or days_since_seen < 0 or days_since_last_call < 0"
    )
    assert later == []
    published = warehouse.query(
        "select count(*) as customers, min(as_of_date) as as_of_date from marts.unified_customers"
    )[0]
    assert published["customers"] == 0 or str(published["as_of_date"]) == as_of.isoformat()
    return published["customers"]


def test_past_as_of_build_changes_nothing_later_builds_compare_with(
    warehouse: Warehouse, sandbox: Sandbox
) -> None:
    warehouse.env.update(
        {
            **sandbox.env(),  # Intercom, and the other sources that date when they first knew a customer
            "SOURCES__HUBSPOT__BASE_URL": f"{sandbox.url}/hubspot",
            "SOURCES__HUBSPOT__ACCESS_TOKEN": TOKEN,
            "SOURCES__HUBSPOT__SETTLE_SECONDS": "0",
            "SOURCES__CALENDLY__BASE_URL": f"{sandbox.url}/calendly",
            "SOURCES__CALENDLY__ACCESS_TOKEN": TOKEN,
            "SOURCES__CALENDLY__INITIAL_DAYS": "3650",  # the loader's window uses the real clock, not AS_OF
            "SOURCES__USERFLOW__BASE_URL": f"{sandbox.url}/userflow",
            "SOURCES__USERFLOW__ACCESS_TOKEN": TOKEN,
            "SOURCES__FATHOM__BASE_URL": f"{sandbox.url}/fathom",
            "SOURCES__FATHOM__ACCESS_TOKEN": TOKEN,
            "SOURCES__FATHOM__INITIAL_DAYS": "3650",
        }
    )
    warehouse.gtm("sync")
    warehouse.gtm("build")
    clean = candidates(warehouse)
    unified = warehouse.query(
        "select email_key, previous_as_of_date, mrr_change_pct from marts.unified_customers"
        " order by email_key"
    )
    everyone = known_then(warehouse, AS_OF)

    future = (date.today() + timedelta(days=1)).isoformat()
    refused = warehouse.gtm("build", "--as-of", future, check=False)
    assert refused.returncode == 1 and "after today" in refused.stderr
    assert refused.stderr.count("\n") == 1

    # A year back the sandbox company had some of today's customers; in 2020 it had none.
    year_ago = AS_OF - timedelta(days=365)
    warehouse.gtm("build", "--as-of", year_ago.isoformat())
    assert 0 < known_then(warehouse, year_ago) < everyone
    seen_since = warehouse.query(
        "select count(*) as n from marts.unified_customers"
        f" where last_seen_at = '{year_ago.isoformat()} 00:00:00' and days_since_seen = 0"
    )
    assert seen_since[0]["n"] > 0  # Intercom's last_seen_at after T's day counts as seen at T
    warehouse.gtm("build", "--as-of", "2020-01-01")
    assert known_then(warehouse, date(2020, 1, 1)) == 0
    warehouse.gtm("build")
    assert candidates(warehouse) == clean  # no health_drop from comparing with 2020
    assert (
        warehouse.query(
            "select email_key, previous_as_of_date, mrr_change_pct from marts.unified_customers"
            " order by email_key"
        )
        == unified
    )

    dropped = warehouse.gtm("history", "drop", "--date", "2020-01-01")
    assert "removed" in dropped.stderr
    dropped = warehouse.gtm("history", "drop", "--date", year_ago.isoformat())
    assert "removed" in dropped.stderr and " 0 " not in dropped.stderr
    dates = warehouse.query("select distinct as_of_date from marts.customer_health_history")
    assert [str(row["as_of_date"]) for row in dates] == [AS_OF.isoformat()]
