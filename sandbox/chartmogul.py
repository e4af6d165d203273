"""ChartMogul API routes (`/v1/customers`, `/v1/activities`) over the company's subscription histories,
served under `/chartmogul`.

ChartMogul imports the company's Stripe account: one ChartMogul customer per Stripe customer (its
`external_id`), and MRR activities computed the way ChartMogul reads Stripe (billing.py
`chartmogul_mrr`). Auth is HTTP Basic with the API key as the user name; lists page with `cursor` /
`has_more` and `per_page` (at most 200); `/v1/activities` filters on `start-date` / `end-date` (ISO 8601)
and `type`, oldest first (`order=-date` for newest first).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import threading
from typing import Any

from sandbox import billing
from sandbox.api import RateWindow, Request, Response
from sandbox.company import Company

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 200
TYPES = ("new_biz", "expansion", "contraction", "churn", "reactivation")


def _iso_day(day: int) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat() + "T00:00:00.000Z"


def _uuid(prefix: str, value: str) -> str:
    digest = hashlib.sha1(value.encode()).hexdigest()
    return f"{prefix}_{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _error(status: int, message: str) -> Response:
    return Response(status, {"code": status, "message": message, "http_status": status})


class ChartMogulAPI:
    """The ChartMogul vendor: API routes, control routes and fault answers."""

    name = "chartmogul"
    stats_keys = ("chartmogul_customers_returned", "chartmogul_activities_returned")

    def __init__(
        self, company: Company, token: str, rate_limit: int = 1000, rate_window: float = 10.0
    ) -> None:
        self.company = company
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self._lock = threading.Lock()
        self._version = -1
        self._customers: list[dict] = []
        self._activities: list[dict] = []

    def _data(self) -> tuple[list[dict], list[dict]]:
        with self._lock:
            if self._version != self.company.billing_version:
                self._build()
                self._version = self.company.billing_version
            return self._customers, self._activities

    def _build(self) -> None:
        now = self.company.billing_now
        customers, activities = [], []
        data_source = _uuid("ds", f"stripe:{self.company.seed}")
        for index in range(self.company.customers):
            for stripe_customer in self.company.billing(index):
                person = self.company.person(index)
                email = person["email"].strip() if person["email"] else None
                uuid = _uuid("cus", stripe_customer["id"])
                moves = billing.chartmogul_activities(stripe_customer, now)
                mrr = moves[-1]["mrr"] if moves else 0
                currency = stripe_customer["currency"].upper()
                customers.append(
                    {
                        "id": len(customers) + 1,
                        "uuid": uuid,
                        "external_id": stripe_customer["id"],
                        "name": person["name"],
                        "email": email,
                        "status": "Active" if mrr > 0 else ("Cancelled" if moves else "New Lead"),
                        "customer-since": _iso_day(moves[0]["day"]) if moves else None,
                        "mrr": mrr,
                        "arr": mrr * 12,
                        "currency": currency,
                        "data_source_uuid": data_source,
                        "data_source_uuids": [data_source],
                        "external_ids": [stripe_customer["id"]],
                    }
                )
                for move in moves:
                    activities.append(
                        {
                            "uuid": _uuid("act", f"{uuid}:{move['day']}:{move['type']}"),
                            "date": _iso_day(move["day"]),
                            "type": move["type"],
                            "description": f"{move['type'].replace('_', ' ')} of {person['name']}",
                            "activity-mrr-movement": move["movement"],
                            "activity-mrr": move["mrr"],
                            "activity-arr": move["mrr"] * 12,
                            "currency": currency,
                            "customer-name": person["name"],
                            "customer-uuid": uuid,
                            "customer-external-id": stripe_customer["id"],
                        }
                    )
        activities.sort(key=lambda activity: (activity["date"], activity["uuid"]))
        self._customers, self._activities = customers, activities

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/chartmogul<path>`: rate limit, Basic auth, then the route."""
        allowed, _, _ = self.rate.take()
        if not allowed:
            return self.fault(429, 1)
        if not self._authorized(request.headers.get("Authorization") or ""):
            return _error(401, "No valid API key provided")
        query = {name: values[-1] for name, values in request.query.items()}
        try:
            per_page = int(query.get("per_page", query.get("per-page", DEFAULT_PER_PAGE)))
        except ValueError:
            return _error(400, "per_page must be an integer")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error(400, f"per_page must be between 1 and {MAX_PER_PAGE}")
        customers, activities = self._data()
        if request.method == "GET" and request.path.rstrip("/") == "/v1/customers":
            return self._page(customers, query, per_page, "chartmogul_customers_returned")
        if request.method == "GET" and request.path.rstrip("/") == "/v1/activities":
            rows = activities
            for name, keep in (("start-date", lambda d, b: d >= b), ("end-date", lambda d, b: d <= b)):
                if name in query:
                    bound = self._date(query[name])
                    if bound is None:
                        return _error(400, f"{name} must be an ISO 8601 date")
                    rows = [row for row in rows if keep(row["date"][:10], bound)]
            if query.get("type"):
                if query["type"] not in TYPES:
                    return _error(400, f"type must be one of {', '.join(TYPES)}")
                rows = [row for row in rows if row["type"] == query["type"]]
            if query.get("order", "date") == "-date":
                rows = rows[::-1]
            return self._page(rows, query, per_page, "chartmogul_activities_returned")
        return _error(404, f"The requested resource could not be found: {request.path}")

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme != "Basic":
            return False
        try:
            return base64.b64decode(value).decode().partition(":")[0] == self.token
        except (binascii.Error, UnicodeDecodeError):
            return False

    @staticmethod
    def _date(value: str) -> str | None:
        try:
            return datetime.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None

    @staticmethod
    def _page(rows: list[dict], query: dict[str, str], per_page: int, key: str) -> Response:
        offset = 0
        if query.get("cursor"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(query["cursor"].encode()))["offset"])
            except (binascii.Error, ValueError, KeyError, TypeError):
                return _error(400, "cursor is invalid")
        page = rows[offset : offset + per_page]
        has_more = offset + per_page < len(rows)
        cursor = base64.urlsafe_b64encode(json.dumps({"offset": offset + per_page}).encode()).decode()
        body: dict[str, Any] = {"entries": page, "has_more": has_more, "per_page": per_page, "cursor": cursor}
        return Response(200, body, records={key: len(page)})

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """No control routes: ChartMogul follows the Stripe histories (change them under /_sandbox/stripe)."""
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """ChartMogul's answer for an injected error status."""
        if status == 429:
            response = _error(429, "You have exceeded the rate limit. Please retry later.")
            response.headers["Retry-After"] = str(retry_after)
            return response
        return _error(status, "No valid API key provided" if status == 401 else "Internal server error")
