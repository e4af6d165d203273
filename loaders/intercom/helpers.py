"""Pure functions of the Intercom loader: search bodies and record validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loaders.common import timestamp_problem
from loaders.intercom.settings import (
    CONTACT_TIMESTAMPS,
    CONVERSATION_TIMESTAMPS,
    OVERLAP_SECONDS,
    PER_PAGE,
    STRIPE_LISTS,
)


def search_body(last_updated_at: int | None, per_page: int = PER_PAGE) -> dict[str, Any]:
    """The body of a contacts/conversations search: everything on the first sync, otherwise what changed
    since one day before the last cursor value (Intercom compares search timestamps by calendar day).

    Newest first, so the incremental resource can stop paging at the first record older than its cursor:
    the overlap day then costs at most one extra page instead of a page per 150 records it holds."""
    body: dict[str, Any] = {
        "pagination": {"per_page": per_page},
        "sort": {"field": "updated_at", "order": "descending"},
    }
    if last_updated_at:
        body["query"] = {
            "field": "updated_at",
            "operator": ">",
            "value": max(0, int(last_updated_at) - OVERLAP_SECONDS),
        }
    else:
        # Intercom's search needs a query; this one matches every record.
        body["query"] = {"field": "updated_at", "operator": ">", "value": 0}
    return body


def beyond_cursor(page: Any, cursor: int | None) -> bool:
    """Whether every record of a page (newest first) was updated after ``cursor``: the incremental resource
    then surely asks for the next page. It may stop at a record updated at or before its cursor."""
    if not cursor:
        return True
    if not isinstance(page, list):
        return False
    return all(
        isinstance(record, Mapping)
        and type(record.get("updated_at")) is int
        and record["updated_at"] > cursor
        for record in page
    )


def _record_problem(record: Any, timestamps: tuple[str, ...]) -> str | None:
    if not isinstance(record, Mapping):
        return "record is not a JSON object"
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        return "id is missing"
    return timestamp_problem(record, timestamps, required=("updated_at",))


def contact_problem(contact: Any) -> str | None:
    """Why a contact cannot be loaded as is (quarantine reason), or None when it is well formed."""
    problem = _record_problem(contact, CONTACT_TIMESTAMPS)
    if problem:
        return problem
    attributes = contact.get("custom_attributes")
    if attributes is None:
        return None
    if not isinstance(attributes, Mapping):
        return "custom_attributes is not an object"
    for key in STRIPE_LISTS:
        items = attributes.get(key)
        if items is not None and not isinstance(items, list):
            return f"custom attribute {key!r} is not a list"
    return None


def conversation_problem(conversation: Any) -> str | None:
    """Why a conversation cannot be loaded as is (quarantine reason), or None when it is well formed."""
    return _record_problem(conversation, CONVERSATION_TIMESTAMPS)


def parts_of(conversation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parts of a conversation (GET /conversations/{id}) with their conversation id attached."""
    parts = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
    return [{**part, "conversation_id": conversation["id"]} for part in parts if isinstance(part, Mapping)]
