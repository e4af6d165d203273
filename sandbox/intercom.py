"""Intercom REST API (v2.x) routes over a `Company`, served under `/intercom`.

Implements what the loaders use: `POST /contacts/search`, `POST /conversations/search` (cursor paging,
nested AND/OR filters matched by calendar day like Intercom, optional sort) and
`GET /conversations/{id}` with its parts, behind bearer auth and Intercom's rate-limit headers.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.api import BadRequest, RateWindow, Request, Response
from sandbox.company import DAY, Company

MAX_PER_PAGE = 150
_CACHE_SIZE = 64
_TIMESTAMP_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
}
_STRING_OPERATORS = ("=", "!=", "IN", "NIN")
_SORT_FIELDS = ("updated_at", "created_at")

Position = tuple[int, ...]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "type": "error.list",
        "request_id": uuid.uuid4().hex,
        "errors": [{"code": code, "message": message}],
    }
    return Response(status, body, headers=dict(headers or {}))


class _Row:
    """The record at one position: cheap fields are read without building it, the rest from the record."""

    __slots__ = ("_collection", "position", "_record")

    def __init__(self, collection: _Contacts | _Conversations, position: Position) -> None:
        self._collection = collection
        self.position = position
        self._record: dict | None = None

    def get(self, field: str) -> Any:
        cheap = self._collection.cheap.get(field)
        return cheap(*self.position) if cheap is not None else self.record().get(field)

    def record(self) -> dict:
        if self._record is None:
            self._record = self._collection.record(self.position)
        return self._record


class _Contacts:
    """Contacts, positioned by (index,)."""

    name = "contacts"
    origin: Position = (0,)
    default_per_page = 50
    fields = {
        "id": "string",
        "email": "string",
        "role": "string",
        "external_id": "string",
        "name": "string",
        "created_at": "timestamp",
        "updated_at": "timestamp",
        "last_seen_at": "timestamp",
        "signed_up_at": "timestamp",
    }
    stats_key = "intercom_contacts_returned"

    def __init__(self, company: Company) -> None:
        self.company = company
        self.cheap: dict[str, Callable[..., Any]] = {
            "id": company.contact_id,
            "updated_at": company.contact_updated_at,
            "created_at": company.contact_created_at,
        }

    def scan(self, start: Position) -> Iterator[_Row]:
        for index in range(start[0], self.company.contact_count):
            yield _Row(self, (index,))

    def record(self, position: Position) -> dict:
        return self.company.contact(position[0])

    def page(self, rows: list[dict], total: int, pages: dict) -> dict:
        return {"type": "list", "data": rows, "total_count": total, "pages": pages}


class _Conversations:
    """Conversations, positioned by (contact index, k)."""

    name = "conversations"
    origin: Position = (0, 0)
    default_per_page = 20
    fields = {
        "id": "string",
        "state": "string",
        "priority": "string",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    }
    stats_key = "intercom_conversations_returned"

    def __init__(self, company: Company) -> None:
        self.company = company
        self.cheap: dict[str, Callable[..., Any]] = {
            "id": company.conversation_id,
            "updated_at": company.conversation_updated_at,
            "created_at": company.conversation_created_at,
        }

    def scan(self, start: Position) -> Iterator[_Row]:
        company = self.company
        first, k_start = start
        for index in range(first, company.conversation_owner_count):
            for k in range(k_start if index == first else 0, company.conversation_count(index)):
                yield _Row(self, (index, k))

    def record(self, position: Position) -> dict:
        return self.company.conversation_at(*position)

    def page(self, rows: list[dict], total: int, pages: dict) -> dict:
        return {"type": "conversation.list", "conversations": rows, "total_count": total, "pages": pages}


def _is_timestamp(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def compile_query(query: Any, fields: dict[str, str]) -> Callable[[_Row], bool]:
    """Turn an Intercom search query into a predicate; timestamps compare by UTC calendar day."""
    if not query:
        return lambda row: True
    if not isinstance(query, dict):
        raise BadRequest("query must be an object")
    op = query.get("operator")
    value = query.get("value")
    if op in ("AND", "OR"):
        if not isinstance(value, list) or not value:
            raise BadRequest(f"{op} needs a non-empty list of filters")
        predicates = [compile_query(item, fields) for item in value]
        combine = all if op == "AND" else any
        return lambda row: combine(predicate(row) for predicate in predicates)
    field = query.get("field")
    kind = fields.get(field)
    if kind is None:
        raise BadRequest(f"unsupported search field: {field!r}")
    if kind == "timestamp":
        compare = _TIMESTAMP_OPERATORS.get(op)
        if compare is None:
            raise BadRequest(f"unsupported operator for {field}: {op!r}")
        try:
            day = int(value) // DAY
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"{field} needs an integer timestamp") from exc

        def timestamp_matches(row: _Row) -> bool:
            stamp = row.get(field)
            return _is_timestamp(stamp) and compare(stamp // DAY, day)

        return timestamp_matches
    if op in ("IN", "NIN"):
        if not isinstance(value, list):
            raise BadRequest(f"{op} needs a list value")
        wanted = set(value)
        return lambda row: (row.get(field) in wanted) == (op == "IN")
    if op not in _STRING_OPERATORS:
        raise BadRequest(f"unsupported operator for {field}: {op!r}")
    return lambda row: (row.get(field) == value) == (op == "=")


def encode_cursor(values: list[int]) -> str:
    """An opaque cursor (base64 JSON, like Intercom's `WzE3...`)."""
    return base64.b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, length: int) -> list[int]:
    """The integers a cursor holds; BadRequest when it is not one of ours."""
    try:
        values = json.loads(base64.b64decode(cursor.encode(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("invalid starting_after cursor") from exc
    if (
        not isinstance(values, list)
        or len(values) != length
        or not all(_is_timestamp(v) and v >= 0 for v in values)
    ):
        raise BadRequest("invalid starting_after cursor")
    return values


class IntercomAPI:
    """The Intercom vendor: API routes, control routes and fault answers."""

    name = "intercom"
    stats_keys = (
        "intercom_contacts_returned",
        "intercom_conversations_returned",
        "intercom_conversation_details_returned",
    )

    def __init__(
        self, company: Company, token: str, rate_limit: int = 1000, rate_window: float = 10.0
    ) -> None:
        self.company = company
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self._contacts = _Contacts(company)
        self._conversations = _Conversations(company)
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/intercom<path>`: rate limit, auth, then the route."""
        allowed, remaining, reset = self.rate.take()
        headers = {
            "X-RateLimit-Limit": str(self.rate.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            return _error(429, "rate_limit_exceeded", "Exceeded rate limit", headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "Access Token Invalid", headers)
        try:
            response = self._route(request)
        except BadRequest as exc:
            response = _error(400, "parameter_invalid", str(exc))
        response.headers.update(headers)
        return response

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts == ["contacts", "search"]:
            return self._search(self._contacts, request)
        if request.method == "POST" and parts == ["conversations", "search"]:
            return self._search(self._conversations, request)
        if request.method == "GET" and len(parts) == 2 and parts[0] == "conversations":
            conversation = self.company.conversation(parts[1])
            if conversation is None:
                return _error(404, "not_found", "Resource Not Found")
            return Response(200, conversation, records={"intercom_conversation_details_returned": 1})
        return _error(404, "not_found", "Resource Not Found")

    def _search(self, collection: _Contacts | _Conversations, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("body must be an object")
        query = body.get("query") or {}
        match = compile_query(query, collection.fields)
        pagination = body.get("pagination") or {}
        try:
            per_page = min(max(int(pagination.get("per_page", collection.default_per_page)), 1), MAX_PER_PAGE)
        except (TypeError, ValueError) as exc:
            raise BadRequest("per_page must be an integer") from exc
        sort = body.get("sort")
        cursor = pagination.get("starting_after")
        count_key = ("count", collection.name, json.dumps(query, sort_keys=True), self.company.version)
        total = collection.company.contact_count if not query and collection is self._contacts else None
        total = total if total is not None else self._cache_get(count_key)
        if sort:
            field, descending = self._sort_spec(sort)
            sort_key = ("sorted", *count_key, field, descending)
            positions = self._cache_get(sort_key)
            if positions is None:
                positions = self._cache_put(sort_key, self._sorted(collection, match, field, descending))
            page, offset = decode_cursor(cursor, 2) if cursor else (1, 0)
            rows = [collection.record(position) for position in positions[offset : offset + per_page]]
            next_position = (offset + per_page,) if offset + per_page < len(positions) else None
            total = len(positions)
        else:
            values = decode_cursor(cursor, 1 + len(collection.origin)) if cursor else [1, *collection.origin]
            page, start = values[0], tuple(values[1:])
            count_all = total is None and start == collection.origin
            rows, next_position, matched = self._scan_page(collection, match, start, per_page, count_all)
            if count_all:
                total = self._cache_put(count_key, matched)
            elif total is None:
                total = self._cache_put(
                    count_key, sum(1 for row in collection.scan(collection.origin) if match(row))
                )
        pages: dict[str, Any] = {
            "type": "pages",
            "page": page,
            "per_page": per_page,
            "total_pages": math.ceil(total / per_page),
        }
        if next_position is not None:
            pages["next"] = {"page": page + 1, "starting_after": encode_cursor([page + 1, *next_position])}
        return Response(200, collection.page(rows, total, pages), records={collection.stats_key: len(rows)})

    @staticmethod
    def _sort_spec(sort: Any) -> tuple[str, bool]:
        if not isinstance(sort, dict) or sort.get("field") not in _SORT_FIELDS:
            raise BadRequest(f"sort field must be one of {', '.join(_SORT_FIELDS)}")
        order = sort.get("order", "ascending")
        if order not in ("ascending", "descending"):
            raise BadRequest("sort order must be ascending or descending")
        return sort["field"], order == "descending"

    @staticmethod
    def _scan_page(
        collection: _Contacts | _Conversations,
        match: Callable[[_Row], bool],
        start: Position,
        per_page: int,
        count_all: bool,
    ) -> tuple[list[dict], Position | None, int]:
        """Up to per_page matches from `start`, the position of the next match (None on the last page), and,
        when `count_all`, how many match in all (the scan then goes on to the end: one pass, not two)."""
        rows: list[dict] = []
        next_position = None
        matched = 0
        for row in collection.scan(start):
            if not match(row):
                continue
            matched += 1
            if len(rows) < per_page:
                rows.append(row.record())
            elif next_position is None:
                next_position = row.position
                if not count_all:
                    break
        return rows, next_position, matched

    @staticmethod
    def _sorted(
        collection: _Contacts | _Conversations, match: Callable[[_Row], bool], field: str, descending: bool
    ) -> list[Position]:
        """Positions of every match ordered by a timestamp field (non-integers first), ties by position."""
        keyed = []
        for row in collection.scan(collection.origin):
            if match(row):
                value = row.get(field)
                keyed.append((value if _is_timestamp(value) else -1, row.position))
        keyed.sort(reverse=descending)
        return [position for _, position in keyed]

    def _cache_get(self, key: tuple) -> Any:
        """A per-query result (count, sort order) computed earlier for this version of the company."""
        with self._cache_lock:
            value = self._cache.get(key)
            if value is not None:
                self._cache.move_to_end(key)
            return value

    def _cache_put(self, key: tuple, value: Any) -> Any:
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """`POST /_sandbox/intercom/contacts[/{id}]` and `/conversations[/{id}]`: add, or change one."""
        parts = request.path.strip("/").split("/")
        try:
            changes = request.json()
        except BadRequest as exc:
            return Response(400, {"error": str(exc)})
        if request.method != "POST" or not isinstance(changes, dict):
            return Response(400, {"error": "POST a JSON object"})
        try:
            if parts == ["contacts"]:
                return Response(200, self.company.add_contact(changes))
            if len(parts) == 2 and parts[0] == "contacts":
                return Response(200, self.company.update_contact(parts[1], changes))
            if parts == ["conversations"]:
                return Response(200, self.company.add_conversation(changes))
            if len(parts) == 2 and parts[0] == "conversations":
                return Response(200, self.company.update_conversation(parts[1], changes))
        except KeyError:
            return Response(404, {"error": f"unknown {parts[0]} {parts[1]}"})
        except ValueError as exc:
            return Response(409, {"error": str(exc)})
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """Intercom's answer for an injected error status."""
        if status == 429:
            reset = int(time.time()) + retry_after
            return _error(
                429,
                "rate_limit_exceeded",
                "Exceeded rate limit",
                {
                    "X-RateLimit-Limit": str(self.rate.limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                    "Retry-After": str(retry_after),
                },
            )
        if status == 503:
            return _error(503, "service_unavailable", "Service Unavailable")
        return _error(status, "server_error", "Server Error")
