"""`gtm alerts` end to end, on DuckDB and PostgreSQL: the sandbox synced and built for two days (so history
rules fire), the runner run as cron runs it, posting with the real slack-sdk to a local fake Slack."""

from __future__ import annotations

import calendar
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, TOKEN, WAREHOUSES, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from fake_slack import FakeSlack

from alerts.render import Message, render_text

SLACK_TOKEN = "xoxb-canary-5e7a1c9d3b2f4a60"
YESTERDAY = AS_OF - timedelta(days=1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def plain_monthly_customers(box: Sandbox, count: int) -> list[dict[str, Any]]:
    """Contacts with one active monthly subscription, not delinquent: a clean start for a change."""
    found = []
    for contact in box.company.contacts():
        attributes = contact.get("custom_attributes") or {}
        subscriptions = attributes.get("Stripe Subscriptions") or []
        if (
            EMAIL.match(contact.get("email") or "")
            and attributes.get("stripe_subscription_status") == "active"
            and attributes.get("stripe_delinquent") is False
            and len(subscriptions) == 1
            and subscriptions[0]["plan"]["interval"] == "month"
            and subscriptions[0]["plan"]["interval_count"] == 1
        ):
            found.append(contact)
        if len(found) == count:
            return found
    raise AssertionError("the sandbox company has too few plain monthly customers")


def with_amount(contact: dict[str, Any], amount: int) -> dict[str, Any]:
    subscription = contact["custom_attributes"]["Stripe Subscriptions"][0]
    changed = {**subscription, "quantity": 1, "plan": {**subscription["plan"], "amount": amount}}
    return {"custom_attributes": {"Stripe Subscriptions": [changed]}}


def change_customers(box: Sandbox) -> None:
    """Between the builds: MRR x5, MRR / 5, a plan above $500, a healthy customer gone quiet and late."""
    up, down, big, drop = plain_monthly_customers(box, 4)
    amount = lambda contact: contact["custom_attributes"]["Stripe Subscriptions"][0]["plan"]["amount"]  # noqa: E731
    long_ago = calendar.timegm(AS_OF.timetuple()) - 90 * 86_400
    changes = {
        up["id"]: with_amount(up, amount(up) * 5),
        down["id"]: with_amount(down, amount(down) // 5),
        big["id"]: with_amount(big, 99_900),
        drop["id"]: {
            "last_seen_at": long_ago,
            "custom_attributes": {"stripe_delinquent": True, "stripe_subscription_status": "past_due"},
        },
    }
    for contact_id, change in changes.items():
        box.control("POST", f"intercom/contacts/{contact_id}", change)


@pytest.fixture(scope="module", params=WAREHOUSES)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Warehouse]:
    """One sandbox company built for YESTERDAY, changed, synced and built for AS_OF; reused by every test."""
    box = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF)
    warehouse, database = new_warehouse(
        request.param, tmp_path_factory.mktemp(f"alerts-{request.param}"), dbt_dirs
    )
    warehouse.env.update(box.env())
    try:
        warehouse.gtm("sync")
        warehouse.gtm("build", "--as-of", YESTERDAY.isoformat())
        change_customers(box)
        warehouse.gtm("sync")
        warehouse.gtm("build")
        yield warehouse
    finally:
        box.close()
        if database:
            _drop_postgres_database(database)


@pytest.fixture
def wh(built: Warehouse) -> Warehouse:
    """The built warehouse with no alert history: every test starts as if alerts never ran."""
    if built.kind == "duckdb":
        import duckdb

        with duckdb.connect(built.env["GTM_DUCKDB_PATH"]) as connection:
            connection.execute("drop table if exists ops.alert_history")
    else:
        import psycopg2

        with psycopg2.connect(built.env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
            cursor.execute("drop table if exists ops.alert_history")
        connection.close()
    return built


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(SLACK_TOKEN) as fake:
        yield fake


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_API_URL": fake.api_url,
        "SLACK_MIN_INTERVAL_SECONDS": "0.05",
        "SLACK_MAX_RETRIES": "1",
        **extra,
    }


def alerts(
    wh: Warehouse, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "gtm.cli", "alerts", *args],
        cwd=wh.workdir,
        env={**base, **wh.env, **(env or {})},
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert SLACK_TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if check and result.returncode != 0:
        raise AssertionError(
            f"gtm alerts {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def spawn(wh: Warehouse, env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "gtm.cli", "alerts"],
        cwd=wh.workdir,
        env={**base, **wh.env, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def history(wh: Warehouse) -> list[dict[str, Any]]:
    return wh.query("select * from ops.alert_history order by dedupe_key")


def assert_no_token_in_history(wh: Warehouse) -> None:
    for row in history(wh):
        assert SLACK_TOKEN not in " ".join(str(value) for value in row.values())


def as_text(sent: dict[str, Any]) -> str:
    return render_text(Message("", sent["channel"], sent["text"], sent["blocks"], ()))


def test_dry_run_prints_the_messages_and_without_credentials_too(wh: Warehouse, slack: FakeSlack) -> None:
    dry = alerts(wh, "--dry-run", env=slack_env(slack))
    assert dry.stdout.splitlines()[0].startswith("#customer-"), "each message starts with its channel"
    assert "MRR AT RISK" in dry.stdout.upper() and "Recommended action:" in dry.stdout
    assert slack.requests == 0
    assert not wh.query("select 1 from information_schema.tables where table_name = 'alert_history'")

    unconfigured = alerts(wh)
    assert unconfigured.returncode == 0
    assert unconfigured.stdout == dry.stdout
    assert len(unconfigured.stderr.strip().splitlines()) == 1
    assert "Slack is not configured" in unconfigured.stderr


def test_sends_each_alert_once_grouped_paced_and_without_the_token(wh: Warehouse, slack: FakeSlack) -> None:
    env = slack_env(slack, SLACK_MIN_INTERVAL_SECONDS="1")
    planned = alerts(wh, "--dry-run", env=env).stdout
    alerts(wh, env=env)

    assert planned == "\n".join(as_text(message) for message in slack.messages) + "\n", (
        "dry run = what is sent"
    )
    candidates = wh.query("select dedupe_key, alert_rule from marts.alert_candidates")
    rules = Counter(row["alert_rule"] for row in candidates)
    assert {"cancel_mention", "payment_issue", "health_drop", "large_mrr_change", "new_high_value"} <= set(
        rules
    )
    recorded = history(wh)
    assert {row["dedupe_key"] for row in recorded} == {row["dedupe_key"] for row in candidates}
    assert all(row["status"] == "sent" and row["slack_ts"] and row["attempts"] == 1 for row in recorded)
    assert len(slack.messages) == len({row["message_key"] for row in recorded})
    assert rules["payment_issue"] > 5
    payment_ts = {row["slack_ts"] for row in recorded if row["rule"] == "payment_issue"}
    assert len(payment_ts) == 1, "many alerts of one rule are one message"
    assert {m["channel"] for m in slack.messages} == {"#customer-alerts", "#customer-health"}
    for channel in ("#customer-alerts", "#customer-health"):
        times = [m["received_at"] for m in slack.messages if m["channel"] == channel]
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert all(gap >= 0.95 for gap in gaps), "at most 1 message per second per channel"

    again = alerts(wh, env=env)
    assert len(slack.messages) == len({row["message_key"] for row in recorded}), (
        "the second run sends nothing"
    )
    assert "sent 0 of 0" in again.stderr
    assert_no_token_in_history(wh)
    assert all(m["auth"] == f"Bearer {SLACK_TOKEN}" for m in slack.messages)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="slack-500"),
        pytest.param({"status": 429, "retry_after": 1}, id="429-past-retries"),
        pytest.param({"delay": 3}, id="timeout"),
    ],
)
def test_a_failed_post_is_sent_on_the_next_run_exactly_once(
    wh: Warehouse, slack: FakeSlack, fault: dict[str, Any]
) -> None:
    env = slack_env(slack, SLACK_TIMEOUT_SECONDS="1")
    slack.fail_next(1 if "delay" in fault else 2, **fault)  # 2 = the first try and SLACK_MAX_RETRIES=1
    first = alerts(wh, env=env, check=False)
    assert first.returncode == 1
    errors = [line for line in first.stderr.splitlines() if line.startswith("gtm: error:")]
    assert len(errors) == 1 and "1 of" in errors[0] and "retried on the next run" in errors[0]
    failed = [row for row in history(wh) if row["status"] == "failed"]
    assert failed and len({row["message_key"] for row in failed}) == 1 and failed[0]["last_error"]
    sent_first = len(slack.messages)

    alerts(wh, env=env)
    texts = Counter(message["text"] for message in slack.messages)
    assert len(slack.messages) == sent_first + 1
    assert set(texts.values()) == {1}, "nothing was posted twice"
    assert all(row["status"] == "sent" for row in history(wh))
    assert_no_token_in_history(wh)


def test_a_crash_between_posting_and_recording_duplicates_one_message_at_most(
    wh: Warehouse, slack: FakeSlack
) -> None:
    env = slack_env(slack)
    slack.fail_next(1, stall=120)  # Slack takes the first message, then its answer never comes
    runner = spawn(wh, env)
    try:
        slack.wait_for_messages(1)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    assert {row["status"] for row in history(wh)} == {"pending"}, "recorded before sending"
    stalled = slack.messages[0]["text"]

    alerts(wh, env=env)
    texts = Counter(message["text"] for message in slack.messages)
    assert texts[stalled] == 2, "the message in the crash window is sent again, once"
    assert all(count == 1 for text, count in texts.items() if text != stalled)
    assert len({row["message_key"] for row in history(wh)}) == len(texts)
    assert all(row["status"] == "sent" for row in history(wh))


def test_a_crash_before_posting_neither_duplicates_nor_loses(wh: Warehouse, slack: FakeSlack) -> None:
    env = slack_env(slack)
    slack.fail_next(1, delay=30)  # the first request hangs before Slack posts anything
    runner = spawn(wh, env)
    deadline = time.monotonic() + 60
    while slack.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    assert slack.messages == []

    alerts(wh, env=env)
    texts = Counter(message["text"] for message in slack.messages)
    assert set(texts.values()) == {1}
    assert len(texts) == len({row["message_key"] for row in history(wh)})


def test_digest_figures_equal_the_marts(
    wh: Warehouse, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alerts.digest import digest_facts
    from gtm.settings import Settings
    from gtm.warehouse import connect

    for key, value in wh.env.items():
        monkeypatch.setenv(key, value)
    with connect(Settings.from_env(), read_only=True) as warehouse:
        daily = digest_facts(warehouse, AS_OF, "daily")
        weekly = digest_facts(warehouse, AS_OF, "weekly")
    summary = wh.query("select * from marts.dashboard_summary")[0]
    before = wh.query(
        f"select health_status, count(*) as customers, sum(mrr) as mrr from marts.customer_health_history "
        f"where as_of_date = '{YESTERDAY}' and is_in_health_scope group by health_status"
    )
    assert daily["compared_with"] == YESTERDAY and weekly["compared_with"] is None
    assert Decimal(daily["total_mrr"]) == summary["total_mrr"]
    assert daily["total_customers"] == summary["total_customers"]
    for status, cell in daily["health"].items():
        assert cell["count"] == summary[f"{status}_customers"]
        assert cell["previous_count"] == sum(
            row["customers"] for row in before if row["health_status"] == status
        )
    assert Decimal(str(daily["previous_total_mrr"])) == sum(Decimal(str(row["mrr"] or 0)) for row in before)
    new_at_risk = wh.query(
        "select count(*) as customers, sum(mrr) as mrr from marts.at_risk_customers where email_key not in ("
        f"select email_key from marts.customer_health_history where as_of_date = '{YESTERDAY}' "
        "and is_in_health_scope and health_status != 'healthy')"
    )[0]
    assert daily["new_at_risk_count"] == new_at_risk["customers"] > 0
    assert daily["new_at_risk_mrr"] == Decimal(str(new_at_risk["mrr"] or 0))

    env = slack_env(slack)
    for period in ("daily", "weekly", "daily", "weekly"):
        alerts(wh, "--digest", period, env=env)
    assert [m["channel"] for m in slack.messages] == ["#daily-summaries", "#daily-summaries"], (
        "one per period"
    )
    assert f"${summary['total_mrr']:,.2f}" in slack.messages[0]["text"]


def test_bad_token_fails_in_one_line_then_a_webhook_delivers_everything(
    wh: Warehouse, slack: FakeSlack
) -> None:
    wrong = "xoxb-canary-wrong-0b9c8d7e6f"
    result = alerts(wh, env=slack_env(slack, SLACK_BOT_TOKEN=wrong), check=False)
    assert result.returncode == 1 and wrong not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("gtm: error:")]
    assert len(errors) == 1 and "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in errors[0]
    assert not slack.messages
    assert all(wrong not in str(row) for row in history(wh))

    alerts(wh, env={"SLACK_WEBHOOK_URL": slack.webhook_url, "SLACK_MIN_INTERVAL_SECONDS": "0.05"})
    recorded = history(wh)
    assert all(row["status"] == "sent" and row["slack_ts"] is None for row in recorded)
    assert {m["via"] for m in slack.messages} == {"webhook"}
    assert len(slack.messages) == len({row["message_key"] for row in recorded})
    assert all("fakewebhooksecret" not in str(row) for row in recorded)
