"""`gtm alerts`: the click command (registered in gtm/cli.py)."""

from __future__ import annotations

import dataclasses

import click

from alerts.runner import run_alerts
from gtm.settings import Settings, parse_as_of


@click.command("alerts")
@click.option(
    "--dry-run", is_flag=True, help="Print the messages that would be sent; send and record nothing."
)
@click.option(
    "--digest",
    type=click.Choice(["daily", "weekly"]),
    help="Send the daily or weekly digest (once per day / ISO week) instead of the rule alerts.",
)
@click.option(
    "--as-of",
    envvar="GTM_AS_OF",
    metavar="YYYY-MM-DD",
    help="As-of date the marts were built for (default: today in UTC). Env: GTM_AS_OF.",
)
def alerts_command(dry_run: bool, digest: str | None, as_of: str | None) -> None:
    """Evaluate the alert rules on the marts and post what is new to Slack.

    Needs SLACK_BOT_TOKEN (channels per alert type, see docs/alerts.md) or SLACK_WEBHOOK_URL; without
    either it prints the messages instead. Every alert is sent once: ops.alert_history remembers it.
    """
    settings = dataclasses.replace(Settings.from_env(), as_of=parse_as_of(as_of))
    run_alerts(settings, dry_run=dry_run, digest=digest)
