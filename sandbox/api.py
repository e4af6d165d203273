"""Plumbing shared by the vendor modules: request/response values and a rate-limit window."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class BadRequest(ValueError):
    """The request body or parameters are unusable; vendors answer it in their own error format."""


@dataclass
class Request:
    """One HTTP request, with `path` relative to the vendor prefix (e.g. `/contacts/search`)."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (an empty body is `{}`)."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadRequest(f"invalid JSON body: {exc}") from exc


@dataclass
class Response:
    """A JSON answer; `records` counts records returned, by stats key."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)


class Vendor(Protocol):
    """What the server needs from a vendor module: its API, its control routes and its fault answers."""

    name: str
    stats_keys: tuple[str, ...]  # record counters shown in /_sandbox/stats from the start

    def handle(self, request: Request) -> Response:
        """Answer a request to `/<name>/...`."""
        ...

    def control(self, request: Request) -> Response:
        """Answer a request to `/_sandbox/<name>/...` (no auth)."""
        ...

    def fault(self, status: int, retry_after: int) -> Response:
        """The vendor's error answer for an injected fault."""
        ...


class RateWindow:
    """A fixed window of `limit` requests per `seconds`, shared by every caller (thread-safe)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._used = 0

    def take(self) -> tuple[bool, int, int]:
        """Use one request: (allowed, remaining, reset as epoch seconds)."""
        with self._lock:
            now = time.time()
            if now >= self._window_start + self.seconds:
                self._window_start = now
                self._used = 0
            allowed = self._used < self.limit
            if allowed:
                self._used += 1
            return allowed, self.limit - self._used, math.ceil(self._window_start + self.seconds)
