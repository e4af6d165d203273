"""Pure functions of the Stripe loader: the sync plan, record validation, the list paginator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BaseReferencePaginator
from requests import Request, Response

from loaders.common import timestamp_problem
from loaders.stripe.settings import EVENT_OBJECTS, EVENTS_DAYS, EVENTS_MARGIN_SECONDS, SUBSCRIPTION_UPDATED


class StripePaginator(BaseReferencePaginator):
    """Stripe list paging: while `has_more`, the next page starts after the last object's id."""

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        objects = body.get("data") or []
        self._next_reference = objects[-1]["id"] if body.get("has_more") and objects else None

    def update_request(self, request: Request) -> None:
        if request.params is None:
            request.params = {}
        request.params["starting_after"] = self._next_reference


def needs_full_sync(cursor: int | None, now: int) -> bool:
    """Whether the sync must re-list everything: no cursor yet, or one Stripe's events no longer cover."""
    return cursor is None or cursor < now - EVENTS_DAYS * 86_400 + EVENTS_MARGIN_SECONDS


@dataclass
class Changes:
    """What the events since the cursor name: ids to re-read per resource, charges with refunds."""

    ids: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in EVENT_OBJECTS.values()})
    refunded_charges: set[str] = field(default_factory=set)
    newest: int | None = None
    newest_ids: list[str] = field(default_factory=list)  # events of the newest second, skipped next time
    subscription_updates: list[Mapping[str, Any]] = field(default_factory=list)


def changes_of(events: Iterable[Mapping[str, Any]], cursor: int, seen: Iterable[str] = ()) -> Changes:
    """The objects the events name (an object named twice is read once), the newest event time and the
    ids of the events at that second. The listing starts at the cursor's second (`created[gte]`), so events
    in `seen` (those of that second read last time) are skipped."""
    changes = Changes(newest=cursor, newest_ids=list(seen))
    skipped = set(seen)
    for event in events:
        if event.get("id") in skipped:
            continue
        obj = (event.get("data") or {}).get("object") or {}
        resource = EVENT_OBJECTS.get(obj.get("object"))
        if resource and isinstance(obj.get("id"), str):
            changes.ids[resource].add(obj["id"])
        if event.get("type") == SUBSCRIPTION_UPDATED:
            changes.subscription_updates.append(event)
        if event.get("type") == "charge.refunded" and isinstance(obj.get("id"), str):
            changes.refunded_charges.add(obj["id"])
        created = event.get("created")
        if isinstance(created, int) and (changes.newest is None or created > changes.newest):
            changes.newest, changes.newest_ids = created, []
        if created == changes.newest and isinstance(event.get("id"), str):
            changes.newest_ids.append(event["id"])
    return changes


def record_problem(record: Any) -> str | None:
    """Why a Stripe object cannot be loaded, or None."""
    if not isinstance(record, Mapping):
        return "not an object"
    if not isinstance(record.get("id"), str) or not record["id"]:
        return "id is missing"
    return timestamp_problem(record, ("created",), ("created",))


def checked(record: Any) -> tuple[Any, str | None]:
    """`checked_records` check of a Stripe object."""
    return record, record_problem(record)
