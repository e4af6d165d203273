"""Rendering is pure: alert rows in, Block Kit out. What a person reads in Slack is checked here."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from alerts.config import AlertConfig
from alerts.digest import digest_key
from alerts.render import alert_message, digest_message, grouped_message, plan_messages, render_text


def row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    base = {
        "dedupe_key": f"cancel_mention|c{n}@x.com|2026-W47",
        "alert_rule": "cancel_mention",
        "severity": "critical",
        "email_key": f"c{n}@x.com",
        "email": f"C{n}@x.com",
        "name": f"Customer {n}",
        "source_name": None,
        "owner_email": None,
        "owner_slack_user_id": None,
        "mrr": Decimal("1234.50"),
        "mrr_at_risk": Decimal("1234.50"),
        "health_score": 41,
        "health_status": "high_risk",
        "previous_health_score": 63,
        "previous_health_status": "at_risk",
        "health_change": -22,
        "recommended_action": "Call within 24h and log the cancel reason",
        "detail": "cancel keyword in a customer message within 30 days",
        "as_of_date": "2026-11-20",
    }
    return {**base, **overrides}


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


def test_alert_shows_mrr_at_risk_health_change_and_action() -> None:
    message = alert_message(row(), "#customer-alerts")
    blocks = text_of(message.blocks)
    assert "$1,234.50" in blocks and "MRR at risk" in blocks
    assert "41 (high risk)" in blocks and "-22 (from 63 at risk)" in blocks
    assert "Call within 24h and log the cancel reason" in blocks
    assert "unassigned" in blocks
    assert message.channel == "#customer-alerts" and "$1,234.50" in message.text
    assert message.alerts == (("cancel_mention|c1@x.com|2026-W47", "c1@x.com"),)


def test_owner_is_mentioned_when_mapped() -> None:
    message = alert_message(row(owner_email="am@x.com", owner_slack_user_id="U024BE7LH"), "#customer-alerts")
    assert "<@U024BE7LH>" in text_of(message.blocks)
    grouped = grouped_message("cancel_mention", [row(1, owner_slack_user_id="U024BE7LH"), row(2)], "#c")
    assert "<@U024BE7LH>" in text_of(grouped.blocks)


def test_block_kit_limits_hold_for_long_groups() -> None:
    rows = [row(n, detail="x" * 200) for n in range(200)]
    message = grouped_message("cancel_mention", rows, "#customer-alerts")
    assert len(message.blocks) <= 50
    assert all(len(block.get("text", {}).get("text", "")) <= 3000 for block in message.blocks)
    assert "more" in text_of(message.blocks) and len(message.alerts) == 200
    assert "$246,900.00" in text_of(message.blocks), "total MRR at risk of all 200"


def test_more_than_the_threshold_of_one_rule_is_one_message() -> None:
    config = AlertConfig()
    five = plan_messages([row(n) for n in range(5)], config.channel_for, group_threshold=5)
    six = plan_messages([row(n) for n in range(6)], config.channel_for, group_threshold=5)
    assert len(five) == 5 and len(six) == 1 and len(six[0].alerts) == 6
    mixed = plan_messages(
        [row(1, alert_rule="health_drop", severity="high", dedupe_key="health_drop|a|2026-11-20"), row(2)],
        config.channel_for,
        group_threshold=5,
    )
    assert [m.rule for m in mixed] == ["cancel_mention", "health_drop"], "most severe first"
    assert [m.channel for m in mixed] == ["#customer-alerts", "#customer-health"]


def test_group_message_key_is_stable_whatever_the_order() -> None:
    rows = [row(n) for n in range(7)]
    assert (
        grouped_message("cancel_mention", rows, "#c").message_key
        == grouped_message("cancel_mention", rows[::-1], "#c").message_key
    )


def test_source_sync_alert_names_the_source() -> None:
    sync = row(
        dedupe_key="source_sync|intercom|2026-11-20",
        alert_rule="source_sync",
        severity="high",
        email_key=None,
        email=None,
        name=None,
        source_name="intercom",
        mrr=None,
        mrr_at_risk=None,
        health_score=None,
        detail="last sync failed",
        recommended_action="Check the source credentials",
    )
    text = render_text(alert_message(sync, "#ops"))
    assert text.startswith("#ops\n") and "source intercom" in text and "Check the source credentials" in text


DIGEST_FACTS: dict[str, Any] = {
    "period": "daily",
    "as_of_date": "2026-11-20",
    "compared_with": "2026-11-19",
    "total_customers": 1200,
    "paying_customers": 900,
    "total_mrr": 45000.5,
    "total_arr": 540006.0,
    "avg_health_score": 61.2,
    "previous_total_mrr": 44000.5,
    "health": {
        "healthy": {"count": 700, "mrr": 1, "previous_count": 710},
        "critical": {"count": 50, "mrr": 1, "previous_count": 40},
    },
    "new_at_risk_count": 1,
    "new_at_risk_mrr": 299.0,
    "new_at_risk": [
        {
            "name": "Ana",
            "email": "ana@x.com",
            "mrr": 299.0,
            "health_score": 45,
            "health_status": "high_risk",
        }
    ],
    "top_actions": [{"recommended_action": "Call within 24h", "customers": 12, "mrr": 4000.0}],
}


def test_digest_shows_totals_changes_new_at_risk_and_actions() -> None:
    facts = dict(DIGEST_FACTS)
    message = digest_message(facts, "#daily-summaries", digest_key("daily", date(2026, 11, 20)))
    text = render_text(message)
    assert text.startswith("#daily-summaries\n")
    for fragment in (
        "$45,000.50 (+$1,000.00)",
        "healthy: 700 (-10)",
        "critical: 50 (+10)",
        "Ana <ana@x.com> · $299.00",
        "Call within 24h · 12 customers · $4,000.00 MRR",
    ):
        assert fragment in text
    assert message.alerts == (("digest_daily|2026-11-20", None),)
    assert digest_key("weekly", date(2026, 11, 20)) == "digest_weekly|2026-W47"


def test_channels_come_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("SLACK_CHANNEL_CUSTOMER_HEALTH", "#cs-health")
    monkeypatch.setenv("SLACK_CHANNEL_SOURCE_SYNC", "#data-ops")
    config = AlertConfig.from_env()
    assert config.channel_for("health_drop") == "#cs-health"
    assert config.channel_for("source_sync") == "#data-ops"
    assert config.channel_for("cancel_mention") == "#customer-alerts"
    assert config.channel_for("digest_weekly") == "#daily-summaries"


def test_weekly_digest_links_the_report_when_its_url_is_set() -> None:
    url = "https://intranet.example.com/gtm/dashboard.html"
    weekly = {**DIGEST_FACTS, "period": "weekly", "report_url": url}
    key = digest_key("weekly", date(2026, 11, 20))
    assert f"<{url}|Open the dashboard report>" in render_text(digest_message(weekly, "#c", key))
    unset = {**weekly, "report_url": None}
    assert url not in render_text(digest_message(unset, "#c", key))
    daily = {**DIGEST_FACTS, "report_url": url}
    assert url not in render_text(digest_message(daily, "#c", digest_key("daily", date(2026, 11, 20))))
