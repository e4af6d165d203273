"""Customer text reaches Slack and terminals escaped (issue 8, item 7): no @channel or phishing link from a
customer's name, no rich markup error, no escape sequence written to the terminal, long values cut."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from alerts.render import alert_message, grouped_message, render_text
from gtm.cli import show_am_scorecard, show_at_risk
from gtm.customer360 import Facts, build_view, render
from gtm.safe_text import cut, plain, slack, terminal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_alerts_render import row  # noqa: E402
from test_customer360_units import customer  # noqa: E402

PHISHING = "<!channel> URGENT <https://evil.example/login|Renew your Slack session> <@U0ADMIN> @here"
MARKUP = "[/red] Mallory [link=https://evil.example]x[/link]"
ESCAPES = "Eve\x1b[2J\x1b]0;owned\x07\x00 \u202eevil"


def test_slack_escapes_mentions_links_and_cuts() -> None:
    text = slack(PHISHING)
    assert "<" not in text and ">" not in text and "@here" not in text
    assert text.startswith("&lt;!channel&gt; URGENT &lt;https://evil.example/login|Renew")
    assert slack("AT&T") == "AT&amp;T"
    assert slack("a\x00b\nc") == "a\ufffdb c"
    assert len(slack("x" * 5000)) == 200 and slack("x" * 5000).endswith("…")


def test_terminal_escapes_markup_and_control_characters() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=200)
    console.print(terminal(MARKUP))
    assert "[/red] Mallory [link=https://evil.example]x[/link]" in console.file.getvalue()
    assert "\x1b" not in plain(ESCAPES) and "\x07" not in plain(ESCAPES) and "\u202e" not in plain(ESCAPES)
    assert cut("abcdef", 4) == "abc…" and cut("abc", 4) == "abc"


def test_alert_from_a_hostile_customer_name_pings_nobody() -> None:
    hostile = row(name=PHISHING, email="x@evil.example", detail=f"cancel: {PHISHING}")
    for message in (alert_message(hostile, "#c"), grouped_message("cancel_mention", [hostile, row(2)], "#c")):
        # every text Slack parses: the notification text and the mrkdwn blocks (headers are plain_text)
        parsed = [block for block in message.blocks if block["type"] != "header"]
        payload = json.dumps([message.text, parsed])
        for forbidden in ("<!channel>", "<https://evil", "<@U0ADMIN>", "@here"):
            assert forbidden not in payload
        assert "Renew your Slack session" in payload  # shown as text, not as a link
    assert "<!channel> URGENT" in render_text(alert_message(hostile, "#c"))  # dry run reads as typed
    # the alert's identity (its history row) is the customer's, unescaped
    assert alert_message(hostile, "#c").alerts == ((hostile["dedupe_key"], hostile["email_key"]),)


def at_risk_row(**overrides: Any) -> dict[str, Any]:
    base = {
        "risk_rank": 1,
        "name": MARKUP,
        "email": "m@x.com",
        "mrr": 10,
        "mrr_native": 10,
        "currency": "usd",
        "is_fx_missing": False,
        "health_score": 20,
        "health_status": "critical",
        "churn_risk": 80,
        "risk_signals": "[bold]payment_failed",
        "assigned_am": ESCAPES,
        "recommended_action": "Call",
    }
    return {**base, **overrides}


def printed(function: Any, *args: Any) -> str:
    import gtm.cli

    buffer = io.StringIO()
    saved, gtm.cli.out = gtm.cli.out, Console(file=buffer, force_terminal=True, color_system=None, width=400)
    try:
        function(*args)
    finally:
        gtm.cli.out = saved
    return buffer.getvalue()


def test_at_risk_and_scorecard_print_hostile_names_as_text() -> None:
    text = printed(show_at_risk, [at_risk_row()])
    assert "[/red] Mallory" in text and "[bold]payment_failed" in text
    assert "\x1b[2J" not in text and "\x07" not in text and "\x00" not in text
    scorecard = {
        "am_name": MARKUP,
        "am_has_left": False,
        "customers": 1,
        "mrr": 1,
        "avg_health_score": 50.0,
        "at_risk_customers": 0,
        "at_risk_mrr": 0,
        "calls_held_90d": 0,
        "call_no_shows_90d": 0,
        "call_show_rate": None,
        "customers_without_call_60d": 0,
        "avg_logins_30d": None,
        "usage_declining_customers": 0,
    }
    assert "[/red] Mallory" in printed(show_am_scorecard, [scorecard])


def test_customer_360_writes_no_escape_sequence_from_a_name() -> None:
    view = build_view(Facts(customer(name=ESCAPES, email="[/red]@x.com")))
    buffer = io.StringIO()
    render(view, Console(file=buffer, force_terminal=True, color_system=None, width=200))
    text = buffer.getvalue()
    assert "Eve" in text and "[/red]@x.com" in text
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text and "\u202e" not in text
