"""Calendly API v2 routes over a `CRM`, served under `/calendly`.

Implements what the loaders use: `GET /users/me`, `GET /scheduled_events` (organization or user scope,
min/max_start_time, status, invitee_email, sort by start_time, page tokens) and
`GET /scheduled_events/{uuid}/invitees`, behind bearer auth and Calendly's rate-limit headers (whose
`X-RateLimit-Reset` is the number of seconds until the window resets, not an epoch time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from sandbox.api import BadRequest, RateWindow, Request, Response
from sandbox.crm import CRM, EVENT_SLOTS, OWNERS, parse_time

MAX_COUNT = 100
DEFAULT_COUNT = 20
_CACHE_SIZE = 32


def _error(
    status: int, title: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return Response(status, {"title": title, "message": message, **extra}, headers=dict(headers or {}))


def _invalid(parameter: str, message: str) -> BadRequest:
    return BadRequest(json.dumps({"parameter": parameter, "message": message}))


class CalendlyAPI:
    """The Calendly vendor: API routes, control routes and fault answers."""

    name = "calendly"
    stats_keys = ("calendly_events_returned", "calendly_invitees_returned")

    def __init__(self, crm: CRM, token: str, rate_limit: int = 1000, rate_window: float = 10.0) -> None:
        self.crm = crm
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self._cache: OrderedDict[tuple, list[int]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/calendly<path>`: rate limit, auth, then the route."""
        allowed, remaining, reset = self.rate.take()
        headers = {
            "X-RateLimit-Limit": str(self.rate.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(max(0, reset - int(time.time()))),  # seconds until the window resets
        }
        if not allowed:
            return _error(
                429, "Too Many Requests", "You have exceeded the rate limit. Please try again later.", headers
            )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "Unauthenticated", "The access token is invalid", headers)
        try:
            response = self._route(request)
        except BadRequest as exc:
            details = (
                json.loads(str(exc)) if str(exc).startswith("{") else {"parameter": None, "message": str(exc)}
            )
            response = _error(
                400, "Invalid Argument", "The supplied parameters are invalid.", details=[details]
            )
        response.headers.update(headers)
        return response

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method != "GET":
            return _error(404, "Resource Not Found", "The server could not find the requested resource.")
        if parts == ["users", "me"]:
            return Response(200, {"resource": self.crm.calendly_user(0)})
        if len(parts) == 2 and parts[0] == "users":
            for i in range(len(OWNERS) + 1):
                if self.crm.calendly_user_uri(i).endswith(f"/{parts[1]}"):
                    return Response(200, {"resource": self.crm.calendly_user(i)})
        if parts == ["scheduled_events"]:
            return self._events(request)
        if len(parts) in (2, 3) and parts[0] == "scheduled_events":
            position = self.crm.event_position(parts[1])
            if position is not None and len(parts) == 2:
                return Response(
                    200,
                    {"resource": self.crm.event_record(*position)[0]},
                    records={"calendly_events_returned": 1},
                )
            if position is not None and parts[2] == "invitees":
                return self._invitees(request, position)
        return _error(404, "Resource Not Found", "The server could not find the requested resource.")

    def _events(self, request: Request) -> Response:
        query = {name: values[-1] for name, values in request.query.items()}
        organization, user = query.get("organization"), query.get("user")
        if not organization and not user:
            raise _invalid("organization", "organization or user is required")
        if organization and organization != self.crm.organization:
            return _error(403, "Permission Denied", "You do not have permission to access this resource.")
        count = self._count(query)
        status = query.get("status")
        if status not in (None, "active", "canceled"):
            raise _invalid("status", "must be one of active, canceled")
        sort = query.get("sort", "start_time:asc")
        if sort not in ("start_time:asc", "start_time:desc"):
            raise _invalid("sort", "must be start_time:asc or start_time:desc")
        bounds = []
        for name in ("min_start_time", "max_start_time"):
            value = query.get(name)
            seconds = None if value is None else parse_time(value)
            if value is not None and (seconds is None or value.strip().isdigit()):
                raise _invalid(name, "must be an ISO 8601 time")
            bounds.append(seconds)
        filters = {
            k: query.get(k) for k in ("user", "status", "invitee_email", "min_start_time", "max_start_time")
        }
        key = ("events", json.dumps(filters, sort_keys=True), sort, self.crm.version)
        positions = self._cache_get(key)
        if positions is None:
            positions = self._cache_put(
                key, self._matching_events(user, status, query.get("invitee_email"), bounds, sort)
            )
        offset = self._offset(query.get("page_token"), key)
        crm = self.crm
        page = [crm.event_record(*divmod(pos, EVENT_SLOTS))[0] for pos in positions[offset : offset + count]]
        body = {
            "collection": page,
            "pagination": self._pagination(request, query, key, offset, count, len(positions)),
        }
        return Response(200, body, records={"calendly_events_returned": len(page)})

    def _matching_events(
        self, user: str | None, status: str | None, email: str | None, bounds: list[float | None], sort: str
    ) -> list[int]:
        crm = self.crm
        low, high = bounds
        keyed = []
        for p, e in crm.event_positions():
            start = crm.event_start(p, e)
            if (low is not None and start < low) or (high is not None and start >= high):
                continue
            if status and crm.event_status(p, e) != status:
                continue
            if user or email:
                event, invitees = crm.event_record(p, e)
                if user and user not in {member["user"] for member in event["event_memberships"]}:
                    continue
                if email and email.strip().lower() not in {i["email"].strip().lower() for i in invitees}:
                    continue
            keyed.append((start, p * EVENT_SLOTS + e))
        keyed.sort(reverse=sort.endswith("desc"))
        return [pos for _, pos in keyed]

    def _invitees(self, request: Request, position: tuple[int, int]) -> Response:
        query = {name: values[-1] for name, values in request.query.items()}
        count = self._count(query)
        invitees = self.crm.event_record(*position)[1]
        status, email = query.get("status"), query.get("email")
        invitees = [
            i
            for i in invitees
            if (not status or i["status"] == status)
            and (not email or i["email"].strip().lower() == email.lower())
        ]
        if query.get("sort", "created_at:asc") == "created_at:desc":
            invitees.reverse()
        key = ("invitees", position)
        offset = self._offset(query.get("page_token"), key)
        page = invitees[offset : offset + count]
        body = {
            "collection": page,
            "pagination": self._pagination(request, query, key, offset, count, len(invitees)),
        }
        return Response(200, body, records={"calendly_invitees_returned": len(page)})

    @staticmethod
    def _count(query: dict[str, str]) -> int:
        try:
            count = int(query.get("count", DEFAULT_COUNT))
        except ValueError as exc:
            raise _invalid("count", "must be an integer") from exc
        if not 1 <= count <= MAX_COUNT:
            raise _invalid("count", f"must be between 1 and {MAX_COUNT}")
        return count

    @staticmethod
    def _token(key: tuple, offset: int) -> str:
        digest = hashlib.sha1(repr(key[:-1] if key[0] == "events" else key).encode()).hexdigest()[:8]
        return base64.urlsafe_b64encode(json.dumps([digest, offset]).encode()).decode().rstrip("=")

    def _offset(self, token: str | None, key: tuple) -> int:
        if not token:
            return 0
        try:
            digest, offset = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError, TypeError) as exc:
            raise _invalid("page_token", "is invalid") from exc
        if self._token(key, offset) != token or not isinstance(offset, int) or offset < 0:
            raise _invalid("page_token", "does not belong to this query")
        return offset

    def _pagination(
        self, request: Request, query: dict[str, str], key: tuple, offset: int, count: int, total: int
    ) -> dict:
        host = request.headers.get("Host", "127.0.0.1")
        path = f"http://{host}/calendly{request.path}"

        def link(token: str | None) -> str | None:
            return None if token is None else f"{path}?{urlencode({**query, 'page_token': token})}"

        next_token = self._token(key, offset + count) if offset + count < total else None
        previous_token = self._token(key, max(0, offset - count)) if offset > 0 else None
        return {
            "count": min(count, max(0, total - offset)),
            "next_page": link(next_token),
            "previous_page": link(previous_token),
            "next_page_token": next_token,
            "previous_page_token": previous_token,
        }

    def _cache_get(self, key: tuple) -> list[int] | None:
        with self._cache_lock:
            value = self._cache.get(key)
            if value is not None:
                self._cache.move_to_end(key)
            return value

    def _cache_put(self, key: tuple, value: list[int]) -> list[int]:
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """`POST /_sandbox/calendly/scheduled_events/{uuid}/cancellation` ({"reason"}), `POST
        /_sandbox/calendly/invitee_no_shows` ({"invitee": uri}) and `POST /_sandbox/calendly/scheduled_events`
        ({"email", "name", "start_time", "host": owner index}) — a new booking."""
        parts = request.path.strip("/").split("/")
        try:
            body = request.json()
        except BadRequest as exc:
            return Response(400, {"error": str(exc)})
        if request.method != "POST" or not isinstance(body, dict):
            return Response(400, {"error": "POST a JSON object"})
        try:
            if len(parts) == 3 and parts[0] == "scheduled_events" and parts[2] == "cancellation":
                return Response(200, {"resource": self.crm.cancel_event(parts[1], body.get("reason"))})
            if parts == ["invitee_no_shows"]:
                return Response(200, {"resource": self.crm.mark_no_show(str(body.get("invitee")))})
            if parts == ["scheduled_events"]:
                start = parse_time(body.get("start_time"))
                if start is None or not body.get("email"):
                    return Response(400, {"error": "a booking needs email and an ISO start_time"})
                event = self.crm.book(
                    body["email"], body.get("name") or body["email"], int(start), int(body.get("host", 0))
                )
                return Response(200, {"resource": event})
        except KeyError as exc:
            return Response(404, {"error": f"unknown {exc.args[0]}"})
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """Calendly's answer for an injected error status (X-RateLimit-Reset in seconds, no Retry-After)."""
        if status == 429:
            headers = {
                "X-RateLimit-Limit": str(self.rate.limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(retry_after),
            }
            return _error(
                429, "Too Many Requests", "You have exceeded the rate limit. Please try again later.", headers
            )
        if status == 401:
            return _error(401, "Unauthenticated", "The access token is invalid")
        return _error(status, "Internal Server Error", "The server encountered an unexpected condition.")
