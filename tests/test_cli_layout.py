"""`gtm at-risk` and `gtm summary` fit 80 columns (a cron log, a pipe) and never cut an email."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gtm import cli

ROWS = [
    {
        "risk_rank": rank,
        "email": email,
        "name": "Maximiliana Oberhausen-Whitfield",
        "mrr": 12_345.67,
        "mrr_native": 12_345.67,
        "currency": "usd",
        "is_fx_missing": False,
        "health_score": 31,
        "health_status": "high_risk",
        "churn_risk": 64,
        "risk_signals": "mentioned_cancel, payment_issue, inactive_30d, health_drop",
        "assigned_am": "Olivia Brandt-Kowalczyk",
        "recommended_action": "Call within 24h: confirm the cancellation reason and offer a retention plan",
    }
    for rank, email in enumerate(
        ["maximiliana.oberhausen-whitfield@example.io", "a@b.co", "x" * 20 + "@corp.example"], 1
    )
]


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    buffer = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=buffer, width=200, force_terminal=False))
    return buffer


def test_at_risk_fits_80_columns_with_whole_emails(printed: io.StringIO) -> None:
    cli.show_at_risk(ROWS)
    text = printed.getvalue()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(line for line in lines if len(line) > 80)
    for row in ROWS:
        assert row["email"] in text  # on one line, never cut or folded
    assert "\x1b[" not in text  # no colour codes outside a terminal


def test_summary_fits_80_columns(printed: io.StringIO) -> None:
    cli.show_summary(
        {
            "as_of_date": "2026-11-20",
            "account_manager": "Olivia Brandt-Kowalczyk",
            "total_customers": 1_234_567,
            "paying_customers": 987_654,
            "total_mrr": 123_456_789.12,
            "total_arr": 1_481_481_469.44,
            "avg_health_score": 71.3,
            "health_distribution": {
                status: {"count": 250_000, "mrr": 30_864_197.28}
                for status in ("healthy", "at_risk", "high_risk", "critical")
            },
        }
    )
    lines = printed.getvalue().splitlines()
    assert lines and max(len(line) for line in lines) <= 80
