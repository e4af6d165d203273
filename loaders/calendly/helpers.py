"""Pure functions of the Calendly loader: the sync plan, which events need their invitees, validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from loaders.calendly.settings import (
    EVENT_TIMESTAMPS,
    INITIAL_DAYS,
    INVITEE_TIMESTAMPS,
    LONGEST_EVENT_DAYS,
    NO_SHOW_WINDOW_DAYS,
)
from loaders.common import parse_iso_time, value_problem

parse_time = parse_iso_time  # Calendly's `2024-05-01T10:00:00.000000Z`


def iso(value: datetime) -> str:
    """The UTC ISO 8601 form Calendly's filters take."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class SyncPlan:
    """What one sync lists and for which events it reads invitees."""

    min_start_time: datetime  # list events starting at or after this (every future event included)
    changed_after: datetime | None  # events updated after this changed (None: first sync, all are new)
    no_show_from: datetime  # active events that ended since then may have had a no-show marked
    now: datetime


def sync_plan(
    state: Mapping[str, Any],
    now: datetime,
    initial_days: int = INITIAL_DAYS,
    no_show_window_days: int = NO_SHOW_WINDOW_DAYS,
) -> SyncPlan:
    """The plan from the previous sync's state (`synced_at`: when it started, `updated_at`: the newest
    event update it saw, both ISO strings); an empty state is a first sync."""
    synced_at, updated_at = state.get("synced_at"), state.get("updated_at")
    if not synced_at:
        start = now - timedelta(days=initial_days)
        return SyncPlan(start, None, start, now)
    previous = parse_time(synced_at)
    assert previous is not None
    no_show_from = previous - timedelta(days=no_show_window_days)
    return SyncPlan(
        no_show_from - timedelta(days=LONGEST_EVENT_DAYS), parse_time(updated_at), no_show_from, now
    )


def needs_invitees(event: Mapping[str, Any], plan: SyncPlan) -> bool:
    """Whether a (typed) event is loaded again with its invitees this sync: it is new or changed since the
    last sync (booked, canceled, rescheduled), or it ended inside the no-show window."""
    if plan.changed_after is None or event["updated_at"] > plan.changed_after:
        return True
    return event.get("status") == "active" and plan.no_show_from <= event["end_time"] <= plan.now


def event_uuid(event: Mapping[str, Any]) -> str:
    """The uuid at the end of an event's uri."""
    return str(event["uri"]).rstrip("/").rsplit("/", 1)[-1]


def _typed(
    record: Any, timestamps: tuple[str, ...], required: tuple[str, ...]
) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(record, Mapping):
        return None, "record is not a JSON object"
    problem = value_problem(record)
    if problem:
        return None, problem
    for name in required:
        if not isinstance(record.get(name), str) or not record[name].strip():
            return None, f"{name} is missing"
    typed = dict(record)
    for name in timestamps:
        try:
            typed[name] = parse_time(record.get(name))
        except ValueError:
            return None, f"{name} is not an ISO 8601 timestamp: {record.get(name)!r}"
        if typed[name] is None and name in required:
            return None, f"{name} is missing"
    cancellation = record.get("cancellation")
    if isinstance(cancellation, Mapping) and cancellation.get("created_at") is not None:
        try:
            typed["cancellation"] = {**cancellation, "created_at": parse_time(cancellation["created_at"])}
        except ValueError:
            return (
                None,
                f"cancellation.created_at is not an ISO 8601 timestamp: {cancellation['created_at']!r}",
            )
    return typed, None


def typed_event(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(the event with parsed timestamps, None) or (None, why it must be quarantined)."""
    typed, problem = _typed(record, EVENT_TIMESTAMPS, ("uri", *EVENT_TIMESTAMPS))
    if typed is None:
        return typed, problem
    if typed.get("status") not in ("active", "canceled"):
        return None, f"status is not active or canceled: {typed.get('status')!r}"
    if not isinstance(typed.get("event_memberships"), list):
        return None, "event_memberships is not a list"
    return typed, None


def typed_invitee(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(the invitee with parsed timestamps, None) or (None, why it must be quarantined)."""
    typed, problem = _typed(record, INVITEE_TIMESTAMPS, ("uri", "event", "email", *INVITEE_TIMESTAMPS))
    if typed is None:
        return typed, problem
    no_show = typed.get("no_show")
    if no_show is not None:
        if not isinstance(no_show, Mapping):
            return None, "no_show is not an object"
        try:
            typed["no_show"] = {**no_show, "created_at": parse_time(no_show.get("created_at"))}
        except ValueError:
            return None, f"no_show.created_at is not an ISO 8601 timestamp: {no_show.get('created_at')!r}"
    return typed, None
