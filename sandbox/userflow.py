"""Userflow REST API routes over the product's users, served under `/userflow`.

Implements what the loader uses: `GET /users` and `GET /content_sessions` (and `GET /content`), Userflow's
list object (`{"object": "list", "data", "has_more", "url", "next_page_url"}`), `limit` 1..100 (default
10) with `starting_after` (the id of the last object of the previous page), bearer auth and the required
`Userflow-Version: 2020-01-03` header. Content sessions carry the onboarding checklist's progress (a
decimal string 0..1, as Userflow serialises decimals) and completion; `expand=content` inlines the content.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import time
from typing import Any
from urllib.parse import urlencode

from sandbox.api import RateWindow, Request, Response
from sandbox.company import DAY
from sandbox.product_db import ProductDB

API_VERSION = "2020-01-03"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
CHECKLIST_TASKS = 5
STALLED_SHARE = 0.15  # users signed up long ago who never finished the checklist


def iso(seconds: float) -> str:
    """Userflow's timestamp format: `2026-01-02T03:04:05.678Z`."""
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{int(seconds * 1000) % 1000:03d}Z"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": {"code": code, "message": message}}, headers=dict(headers or {}))


class UserflowAPI:
    """The Userflow vendor: API routes, control routes and fault answers."""

    name = "userflow"
    stats_keys = ("userflow_users_returned", "userflow_content_sessions_returned")

    def __init__(
        self, product: ProductDB, token: str, rate_limit: int = 1000, rate_window: float = 10.0
    ) -> None:
        self.product = product
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        salt = hashlib.sha256(f"gtm-userflow:{product.seed}".encode()).hexdigest()
        self.checklist_id = f"{salt[:8]}-{salt[8:12]}-4{salt[13:16]}-8{salt[17:20]}-{salt[20:32]}"
        self.flow_id = f"{salt[32:40]}-{salt[40:44]}-4{salt[45:48]}-8{salt[49:52]}-{salt[52:64]}"
        self._salt = salt
        self._lists: dict[str, list[dict]] | None = None

    # ---- data ----------------------------------------------------------------------------------------
    def content(self) -> list[dict]:
        """The checklist and the welcome flow (Userflow content objects)."""
        created = iso(self.product.start_ts - 400 * DAY)
        return [
            {
                "id": self.checklist_id,
                "object": "content",
                "type": "checklist",
                "name": "Getting started",
                "created_at": created,
            },
            {
                "id": self.flow_id,
                "object": "content",
                "type": "flow",
                "name": "Welcome tour",
                "created_at": created,
            },
        ]

    def onboarding(self, user: Any) -> tuple[int, int | None]:
        """(checklist tasks done, completion time or None) of a product user."""
        rng = random.Random(f"{self.product.seed}:{user.user_id}:userflow")
        age_days = (self.product.anchor_ts - user.created_at) / DAY
        if age_days > 14 and rng.random() >= STALLED_SHARE:
            return CHECKLIST_TASKS, user.created_at + rng.randint(1, 12) * DAY + rng.randint(0, DAY - 1)
        done = min(CHECKLIST_TASKS - 1, rng.randint(0, 2) + int(max(age_days, 0) // 7))
        if age_days <= 14 and rng.random() < 0.3:
            finished = user.created_at + rng.randint(0, max(0, int(age_days) - 1)) * DAY + 3600
            return CHECKLIST_TASKS, finished
        return done, None

    def _build(self) -> dict[str, list[dict]]:
        """Users (last seen = the last product login before the anchor day) and content sessions."""
        last_login: dict[int, datetime.datetime] = {}
        anchor = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=self.product.anchor_ts)
        for _, user_id, at, _ in self.product.tables["logins"]:
            if at < anchor and (user_id not in last_login or at > last_login[user_id]):
                last_login[user_id] = at
        users, sessions = [], []
        for user in self.product.users:
            seen = last_login.get(user.user_id)
            users.append(
                {
                    "id": str(user.user_id),
                    "object": "user",
                    "attributes": {
                        "email": user.email,
                        "name": user.name,
                        "signed_up_at": iso(user.created_at),
                        "last_seen_at": None if seen is None else f"{seen:%Y-%m-%dT%H:%M:%S}.000Z",
                        "role": user.role,
                    },
                    "created_at": iso(user.created_at),
                    "groups": None,
                    "memberships": None,
                }
            )
            done, completed_at = self.onboarding(user)
            sessions.append(self._session(user, self.checklist_id, done / CHECKLIST_TASKS, completed_at))
            if user.user_id % 5 < 3:  # 60% saw the welcome tour; it counts as complete when they finished it
                tour_done = user.created_at + 600 if user.user_id % 5 < 2 else None
                sessions.append(self._session(user, self.flow_id, 1.0 if tour_done else 0.4, tour_done))
        order = {
            key: sorted(rows, key=lambda r: (r["created_at"], r["id"]))
            for key, rows in (("users", users), ("content_sessions", sessions))
        }
        return order

    def _session(self, user: Any, content_id: str, progress: float, completed_at: int | None) -> dict:
        digest = hashlib.sha256(f"{self._salt}:{user.user_id}:{content_id}".encode()).hexdigest()
        session_id = f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"
        last = completed_at or min(self.product.anchor_ts - DAY, user.created_at + 7 * DAY)
        return {
            "id": session_id,
            "object": "content_session",
            "answers": None,
            "completed": completed_at is not None,
            "completed_at": None if completed_at is None else iso(completed_at),
            "content_id": content_id,
            "content": None,
            "created_at": iso(user.created_at + 60),
            "group_id": str(user.account_id),
            "is_preview": False,
            "last_activity_at": iso(max(last, user.created_at + 60)),
            "progress": f"{progress:.4f}".rstrip("0").rstrip(".") if progress else "0",
            "user_id": str(user.user_id),
            "version_id": f"{content_id[:8]}-v1",
        }

    @property
    def lists(self) -> dict[str, list[dict]]:
        if self._lists is None:
            self._lists = self._build()
        return self._lists

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/userflow<path>`: rate limit, auth, version header, then the route."""
        allowed, remaining, reset = self.rate.take()
        headers = {"X-RateLimit-Limit": str(self.rate.limit), "X-RateLimit-Remaining": str(remaining)}
        if not allowed:
            headers["Retry-After"] = str(max(1, reset - int(time.time())))
            return _error(429, "rate_limit_exceeded", "Too many requests. Please slow down.", headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthenticated", "Invalid or missing API key.", headers)
        if request.headers.get("Userflow-Version") != API_VERSION:
            return _error(400, "invalid_version", f"Userflow-Version header must be {API_VERSION}.", headers)
        path = request.path.rstrip("/")
        if request.method != "GET" or path not in ("/users", "/content_sessions", "/content"):
            return _error(404, "not_found", f"No route {request.method} {request.path}", headers)
        response = self._list(request, path)
        response.headers.update(headers)
        return response

    def _list(self, request: Request, path: str) -> Response:
        query = {name: values[-1] for name, values in request.query.items()}
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, "invalid_request", f"limit must be between 1 and {MAX_LIMIT}")
        rows = self.content() if path == "/content" else self.lists[path.strip("/")]
        if path == "/content_sessions":
            if query.get("user_id"):
                rows = [r for r in rows if r["user_id"] == query["user_id"]]
            if query.get("content_id"):
                rows = [r for r in rows if r["content_id"] == query["content_id"]]
        start = 0
        after = query.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return _error(400, "invalid_request", "starting_after does not name an object of this list")
            start = ids.index(after) + 1
        page = rows[start : start + limit]
        if path == "/content_sessions" and query.get("expand") == "content":
            content = {c["id"]: c for c in self.content()}
            page = [{**r, "content": content[r["content_id"]]} for r in page]
        has_more = start + limit < len(rows)
        next_url = None
        if has_more:
            next_url = f"{path}?{urlencode({**query, 'starting_after': page[-1]['id']})}"
        key = {"/users": "userflow_users_returned", "/content_sessions": "userflow_content_sessions_returned"}
        return Response(
            200,
            {"object": "list", "data": page, "has_more": has_more, "url": path, "next_page_url": next_url},
            records={key[path]: len(page)} if path in key else {},
        )

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """No control routes: the data follows the product database."""
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """Userflow's answer for an injected error status."""
        if status == 429:
            return _error(429, "rate_limit_exceeded", "Too many requests.", {"Retry-After": str(retry_after)})
        return _error(status, "server_error", "Something went wrong.")
