"""Pure functions of the Userflow loader: the `starting_after` paginator and record validation."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from loaders.common import parse_iso_time
from loaders.userflow.settings import SESSION_TIMESTAMPS, USER_TIMESTAMPS


class StartingAfterPaginator(BasePaginator):
    """Userflow's list paging: while `has_more`, ask again with `starting_after` = the last object's id."""

    def __init__(self) -> None:
        super().__init__()
        self._after: str | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        items = body.get("data") or []
        self._after = items[-1]["id"] if body.get("has_more") and items else None
        self._has_next_page = self._after is not None

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "starting_after": self._after}


def typed_user(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The user with parsed timestamps, or (None, why it cannot be loaded)."""
    if not isinstance(record, dict) or not record.get("id"):
        return None, "user without an id"
    attributes = dict(record.get("attributes") or {})
    try:
        for name in USER_TIMESTAMPS:
            attributes[name] = parse_iso_time(attributes.get(name))
        created_at = parse_iso_time(record.get("created_at"))
    except ValueError as exc:
        return None, f"bad timestamp: {exc}"
    return {**record, "attributes": attributes, "created_at": created_at}, None


def typed_session(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The content session with parsed timestamps and progress, or (None, why it cannot be loaded)."""
    if not isinstance(record, dict) or not record.get("id") or not record.get("user_id"):
        return None, "content session without an id or user_id"
    typed = dict(record)
    try:
        for name in SESSION_TIMESTAMPS:
            typed[name] = parse_iso_time(record.get(name))
    except ValueError as exc:
        return None, f"bad timestamp: {exc}"
    try:
        progress = Decimal(str(record.get("progress") if record.get("progress") is not None else "0"))
    except InvalidOperation:
        return None, f"progress is not a number: {record.get('progress')!r}"
    if not 0 <= progress <= 1:
        return None, f"progress is outside 0..1: {progress}"
    typed["progress"] = progress
    return typed, None
