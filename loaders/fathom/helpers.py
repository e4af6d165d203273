"""Pure functions of the Fathom loader: the `created_after` of a sync and record validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from loaders.common import parse_iso_time
from loaders.fathom.settings import INITIAL_DAYS, MEETING_TIMESTAMPS, OVERLAP_SECONDS, RECHECK_DAYS


def created_after(
    newest_seen: str | None,
    now: datetime,
    initial_days: int = INITIAL_DAYS,
    recheck_days: int = RECHECK_DAYS,
) -> datetime:
    """Where a sync starts: the first sync `initial_days` back; later ones at the newest created_at seen
    less an overlap, or `recheck_days` back when that is earlier (recent meetings' action items change)."""
    if not newest_seen:
        return now - timedelta(days=initial_days)
    seen = parse_iso_time(newest_seen)
    assert seen is not None
    return min(seen - timedelta(seconds=OVERLAP_SECONDS), now - timedelta(days=recheck_days))


def iso(value: datetime) -> str:
    """The UTC ISO 8601 form Fathom's filters take."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def typed_meeting(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The meeting with parsed timestamps, or (None, why it cannot be loaded)."""
    if not isinstance(record, dict) or record.get("recording_id") is None:
        return None, "meeting without a recording_id"
    typed = dict(record)
    try:
        for name in MEETING_TIMESTAMPS:
            typed[name] = parse_iso_time(record.get(name))
    except ValueError as exc:
        return None, f"bad timestamp: {exc}"
    if typed["created_at"] is None:
        return None, "created_at is missing"
    if not isinstance(record.get("calendar_invitees"), list):
        return None, "calendar_invitees is not a list"
    return typed, None
