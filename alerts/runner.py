"""The alert runner: new candidates -> ops.alert_history (pending) -> Slack -> sent / failed.

Order of a run: read marts.alert_candidates for T, drop the dedupe keys ops.alert_history already has,
render the rest (grouped per rule when many), record them as pending and commit, then post each message
(failed and interrupted messages of earlier runs first) and record its Slack ts. A crash after Slack
accepted a message and before its ts is committed re-sends that one message on the next run (docs/alerts.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import click

from alerts import history
from alerts.config import AlertConfig
from alerts.digest import digest_facts, digest_key
from alerts.render import Message, digest_message, plan_messages, render_text
from alerts.slack import SlackClient, SlackSendError
from gtm.errors import GtmError, redact
from gtm.reports import jsonable
from gtm.settings import Settings
from gtm.warehouse import Warehouse, connect


@dataclass
class AlertRun:
    """What a run did: the messages (sent, or printed when not delivering) and the failures."""

    messages: list[Message]
    delivered: bool
    sent: int = 0
    failures: list[str] = field(default_factory=list)


def require_built_for(warehouse: Warehouse, as_of: date) -> None:
    """The marts must exist and be built for T, or the alerts would describe another day."""
    for table in ("dashboard_summary", "alert_candidates"):
        if not warehouse.table_exists("marts", table):
            raise GtmError(f"marts.{table} does not exist yet: run `gtm build` (or `make demo`) first")
    rows = warehouse.query("select as_of_date from marts.dashboard_summary")
    built = rows[0]["as_of_date"] if rows else None
    if built != as_of:
        raise GtmError(
            f"the marts are built for {built}, not {as_of}: run `gtm build --as-of {as_of}` first "
            "(or pass the built date with --as-of / GTM_AS_OF)"
        )


def new_messages(warehouse: Warehouse, config: AlertConfig, as_of: date, digest: str | None) -> list[Message]:
    """Messages for what ops.alert_history has not seen: rule candidates, or the digest of the period."""
    known = history.known_keys(warehouse)
    if digest:
        key = digest_key(digest, as_of)
        if key in known:
            return []
        facts = {**jsonable(digest_facts(warehouse, as_of, digest)), "report_url": config.report_url}
        return [digest_message(facts, config.channel_for(f"digest_{digest}"), key)]
    rows = warehouse.query("select * from marts.alert_candidates")
    fresh = [jsonable(row) for row in rows if row["dedupe_key"] not in known]
    return plan_messages(fresh, config.channel_for, config.group_threshold)


def print_messages(messages: list[Message]) -> None:
    for message in messages:
        click.echo(redact(render_text(message)))
    if not messages:
        click.echo("No new alerts.")


def deliver(warehouse: Warehouse, client: SlackClient, messages: list[Message], run: AlertRun) -> None:
    """Post each message and record the outcome; an authentication failure stops the run."""
    for message in messages:
        history.mark_attempt(warehouse, message)
        try:
            slack_ts = client.post(message)
        except SlackSendError as exc:
            history.mark_failed(warehouse, message, str(exc))
            run.failures.append(str(exc))
            if exc.auth:
                raise GtmError(
                    f"{exc}; nothing more was sent, and the failed alerts are retried on the next run"
                ) from None
            continue
        history.mark_sent(warehouse, message, slack_ts)
        run.sent += 1


def run_alerts(settings: Settings, dry_run: bool = False, digest: str | None = None) -> AlertRun:
    """Evaluate and send the alerts (or the digest) for settings.as_of. Dry run, or no Slack credentials:
    print the messages that would be sent and record nothing. Raises GtmError when a message failed."""
    config = AlertConfig.from_env()
    delivering = config.configured and not dry_run
    with connect(settings, read_only=not delivering) as warehouse:
        require_built_for(warehouse, settings.as_of)
        if delivering:
            history.prepare(warehouse)
        retries = history.unsent_messages(warehouse)
        fresh = new_messages(warehouse, config, settings.as_of, digest)
        run = AlertRun(messages=retries + fresh, delivered=delivering)
        if not delivering:
            print_messages(run.messages)
            if not dry_run:
                click.echo(
                    f"Slack is not configured (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL): printed "
                    f"{len(run.messages)} message(s) instead of sending them",
                    err=True,
                )
            return run
        history.record_pending(warehouse, fresh)
        deliver(warehouse, SlackClient(config), run.messages, run)
    alerts = sum(len(message.alerts) for message in run.messages)
    click.echo(f"Slack: sent {run.sent} of {len(run.messages)} message(s) ({alerts} alert(s))", err=True)
    if run.failures:
        raise GtmError(
            f"{len(run.failures)} of {len(run.messages)} Slack message(s) failed ({run.failures[0]}); "
            "they are retried on the next run"
        )
    return run
