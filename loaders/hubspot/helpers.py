"""Pure functions of the HubSpot loader: search bodies, window arithmetic, record validation and typing."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loaders.common import parse_iso_time
from loaders.hubspot.settings import PAGE_SIZE, TIMESTAMP_PROPERTIES


def to_millis(value: datetime | None) -> int:
    """Epoch milliseconds of an incremental cursor value (0 before the first sync)."""
    return 0 if value is None else math.floor(value.timestamp() * 1000)


parse_timestamp = parse_iso_time  # HubSpot's `2024-05-01T10:00:00.123Z`, milliseconds optional


def search_body(
    cursor_property: str,
    start_ms: int,
    end_ms: int,
    properties: Iterable[str],
    limit: int = PAGE_SIZE,
    after: str | None = None,
) -> dict[str, Any]:
    """A CRM search for objects with start_ms <= cursor < end_ms, oldest change first."""
    body: dict[str, Any] = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": cursor_property, "operator": "GTE", "value": str(start_ms)},
                    {"propertyName": cursor_property, "operator": "LT", "value": str(end_ms)},
                ]
            }
        ],
        "sorts": [{"propertyName": cursor_property, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": limit,
    }
    if after is not None:
        body["after"] = after
    return body


def next_after(page: Mapping[str, Any]) -> str | None:
    """The `after` of the next page of a search or list answer, None on the last page."""
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return None if after in (None, "") else str(after)


def past_cap(after: str, limit: int, cap: int) -> bool:
    """Whether the page starting at offset `after` reaches past the search cap (HubSpot answers it 400)."""
    return int(after) + limit > cap


def cursor_millis(record: Any, cursor_property: str) -> int | None:
    """The cursor property of a search result in epoch milliseconds, None when absent or malformed."""
    try:
        value = parse_timestamp(((record or {}).get("properties") or {}).get(cursor_property))
    except (ValueError, AttributeError):
        return None
    return None if value is None else to_millis(value)


def merged_ids(value: Any) -> list[str]:
    """hs_merged_object_ids ("123;456") as a list of ids."""
    if not value:
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


def typed_object(record: Any, cursor_property: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the object with its timestamps parsed, None) or (None, why it must be quarantined).

    HubSpot sends every property as a string; timestamps become datetimes here so the incremental cursor
    compares instants (not strings) and the warehouse gets timestamp columns."""
    if not isinstance(record, Mapping):
        return None, "record is not a JSON object"
    if not isinstance(record.get("id"), str) or not record["id"]:
        return None, "id is missing"
    properties = record.get("properties")
    if not isinstance(properties, Mapping):
        return None, "properties is not an object"
    typed = dict(record)
    typed_properties = dict(properties)
    for name in ("createdAt", "updatedAt"):
        try:
            typed[name] = parse_timestamp(record.get(name))
        except ValueError:
            return None, f"{name} is not an ISO 8601 timestamp: {record.get(name)!r}"
    for name in TIMESTAMP_PROPERTIES:
        if name not in typed_properties:
            continue
        try:
            typed_properties[name] = parse_timestamp(typed_properties[name])
        except ValueError:
            return None, f"{name} is not an ISO 8601 timestamp: {typed_properties[name]!r}"
    if typed_properties.get(cursor_property) is None:
        return None, f"{cursor_property} is missing"
    merged = merged_ids(typed_properties.get("hs_merged_object_ids"))
    if not all(part.isdigit() for part in merged):
        return (
            None,
            f"hs_merged_object_ids is not a list of ids: {typed_properties['hs_merged_object_ids']!r}",
        )
    typed["properties"] = typed_properties
    return typed, None


def typed_contact(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A contact, with `merged_object_ids` (the ids HubSpot merged into it) as a list for a child table."""
    typed, problem = typed_object(record, "lastmodifieddate")
    if typed is not None:
        typed["merged_object_ids"] = merged_ids(typed["properties"].get("hs_merged_object_ids"))
    return typed, problem


def typed_company(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    return typed_object(record, "hs_lastmodifieddate")


def typed_deal(record: Any) -> tuple[dict[str, Any] | None, str | None]:
    """A deal; its amount must be a plain decimal number (or empty)."""
    typed, problem = typed_object(record, "hs_lastmodifieddate")
    if typed is None:
        return typed, problem
    amount = typed["properties"].get("amount")
    if amount not in (None, ""):
        try:
            Decimal(str(amount))
        except InvalidOperation:
            return None, f"amount is not a number: {amount!r}"
    elif amount == "":
        typed["properties"]["amount"] = None
    return typed, None


def associations_by_id(answer: Mapping[str, Any], association_type: str) -> dict[str, list[dict[str, str]]]:
    """v4 batch-read results as {from id: [{"id": to id, "type": association_type}]}."""
    found: dict[str, list[dict[str, str]]] = {}
    for result in answer.get("results") or []:
        from_id = str((result.get("from") or {}).get("id"))
        targets = found.setdefault(from_id, [])
        for target in result.get("to") or []:
            targets.append({"id": str(target.get("toObjectId")), "type": association_type})
    return found


def association_pages(answer: Mapping[str, Any]) -> list[dict[str, str]]:
    """Inputs for the next batch read when some objects have more associations than one answer holds."""
    inputs = []
    for result in answer.get("results") or []:
        after = ((result.get("paging") or {}).get("next") or {}).get("after")
        if after:
            inputs.append({"id": str((result.get("from") or {}).get("id")), "after": str(after)})
    return inputs
