"""ops.alert_history: every alert the runner has seen, recorded before it is sent, so a second run sends
nothing twice and a failed post is retried. One row per dedupe key; the rows of one Slack message share
its message_key, payload and slack_ts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from alerts.render import Message
from gtm.errors import GtmError, redact
from gtm.warehouse import Warehouse

ALERT_HISTORY_DDL = """
create table if not exists ops.alert_history (
    dedupe_key varchar(512) primary key,
    rule varchar(64) not null,
    email_key varchar(320),
    channel varchar(200) not null,
    message_key varchar(512) not null,
    status varchar(16) not null,
    attempts integer not null,
    slack_ts varchar(64),
    first_seen_at timestamp not null,
    sent_at timestamp,
    last_error text,
    payload text not null
)
"""
# Any constant: one runner per Postgres database at a time (DuckDB's file lock does the same there).
ADVISORY_LOCK_ID = 4_242_031


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def prepare(warehouse: Warehouse) -> None:
    """Take the runner lock (Postgres) and create ops.alert_history if missing."""
    if warehouse.kind == "postgres":
        locked = warehouse.query("select pg_try_advisory_lock(%s) as locked", (ADVISORY_LOCK_ID,))
        if not locked[0]["locked"]:
            raise GtmError(
                "another `gtm alerts` is running on this warehouse; try again when it has finished"
            )
    warehouse.execute("create schema if not exists ops")
    warehouse.execute(ALERT_HISTORY_DDL)
    warehouse.commit()


def known_keys(warehouse: Warehouse) -> set[str]:
    if not warehouse.table_exists("ops", "alert_history"):
        return set()
    return {row["dedupe_key"] for row in warehouse.query("select dedupe_key from ops.alert_history")}


def unsent_messages(warehouse: Warehouse) -> list[Message]:
    """Messages recorded but not sent (failed, or interrupted), rebuilt from their stored payload."""
    if not warehouse.table_exists("ops", "alert_history"):
        return []
    rows = warehouse.query(
        "select dedupe_key, rule, email_key, message_key, payload from ops.alert_history "
        "where status in ('pending', 'failed') order by first_seen_at, message_key, dedupe_key"
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["message_key"], []).append(row)
    messages = []
    for group in grouped.values():
        payload = json.loads(group[0]["payload"])
        alerts = tuple((row["dedupe_key"], row["email_key"]) for row in group)
        messages.append(
            Message(group[0]["rule"], payload["channel"], payload["text"], payload["blocks"], alerts)
        )
    return messages


def record_pending(warehouse: Warehouse, messages: Sequence[Message]) -> None:
    """Record new messages before anything is sent (committed, so a crash cannot lose them)."""
    now = utc_now()
    for message in messages:
        payload = json.dumps(message.payload(), default=str)
        for dedupe_key, email_key in message.alerts:
            warehouse.execute(
                "insert into ops.alert_history (dedupe_key, rule, email_key, channel, message_key, status, "
                "attempts, first_seen_at, payload) values (%s, %s, %s, %s, %s, 'pending', 0, %s, %s)",
                (dedupe_key, message.rule, email_key, message.channel, message.message_key, now, payload),
            )
    warehouse.commit()


def mark_attempt(warehouse: Warehouse, message: Message) -> None:
    warehouse.execute(
        "update ops.alert_history set attempts = attempts + 1 where message_key = %s", (message.message_key,)
    )
    warehouse.commit()


def mark_sent(warehouse: Warehouse, message: Message, slack_ts: str | None) -> None:
    warehouse.execute(
        "update ops.alert_history set status = 'sent', slack_ts = %s, sent_at = %s, last_error = null "
        "where message_key = %s",
        (slack_ts, utc_now(), message.message_key),
    )
    warehouse.commit()


def mark_failed(warehouse: Warehouse, message: Message, error: str) -> None:
    warehouse.execute(
        "update ops.alert_history set status = 'failed', last_error = %s where message_key = %s",
        (redact(error), message.message_key),
    )
    warehouse.commit()
