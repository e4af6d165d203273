"""Stripe API routes (`/v1/...`, API version 2024-06-20) over the company's subscription histories, served
under `/stripe`.

Implements what the loader uses: list and retrieve of customers, subscriptions, prices, coupons, invoices
(with `/lines`), charges, refunds and events. Lists are Stripe list objects `{object: list, data, has_more,
url}`, newest first, paged with `limit` (1-100, default 10) and `starting_after` / `ending_before`, filtered
by `created` (`created=ts` or `created[gt|gte|lt|lte]=ts`) and, where Stripe has them, `customer`,
`status` (subscriptions: default every status but canceled, `status=all` for all), `subscription`,
`type` / `types[]` (events). `expand[]` replaces an id by its object. Events can only be listed for the
last 30 days, like Stripe's, counted on the sandbox's clock (its anchor day, a minute later per change).
Errors are Stripe's `{"error": {"type", "message", ...}}`.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from typing import Any

from sandbox import billing
from sandbox.api import RateWindow, Request, Response
from sandbox.company import Company

API_VERSION = "2024-06-20"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
EVENT_DAYS = 30
EMBEDDED_LINES = 10  # an invoice embeds its first 10 lines; the rest through /v1/invoices/{id}/lines
RESOURCES = ("customers", "subscriptions", "prices", "coupons", "invoices", "charges", "refunds", "events")
_PREFIXES = {"cus": "customers", "sub": "subscriptions", "in": "invoices", "ch": "charges", "re": "refunds"}
_CREATED_OPS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class StripeError(Exception):
    """An answer in Stripe's error format."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def response(self) -> Response:
        kind = "invalid_request_error"
        error: dict[str, Any] = {"type": kind, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return Response(self.status, {"error": error})


def _event_id(kind: str, object_id: str, created: int) -> str:
    return "evt_" + hashlib.sha1(f"{kind}:{object_id}:{created}".encode()).hexdigest()[:24]


class Ledger:
    """Every Stripe object of the company, built at once from the histories (rebuilt after a change)."""

    def __init__(self, company: Company) -> None:
        now = company.billing_now
        self.objects: dict[str, list[dict]] = {name: [] for name in RESOURCES}
        self.customer_index: dict[str, int] = {}  # Stripe customer id -> the company's person index
        prices: dict[str, dict] = {}
        coupons: dict[str, dict] = {}
        events: list[dict] = []
        for index in range(company.customers):
            person = None
            for customer in company.billing(index):
                person = person or company.person(index)
                email = person["email"].strip() if person["email"] else None
                obj = billing.customer_object(customer, email, person["name"])
                self.objects["customers"].append(obj)
                self.customer_index[obj["id"]] = index
                events.append(self._event("customer.created", obj, customer["created"]))
                for sub in customer["subscriptions"]:
                    self._add_subscription(sub, now, prices, coupons, events)
        self.objects["prices"] = list(prices.values())
        self.objects["coupons"] = list(coupons.values())
        self.objects["events"] = [event for event in events if event["created"] <= now]
        for _name, objects in self.objects.items():
            objects.sort(key=lambda obj: (obj["created"], obj["id"]), reverse=True)
        self.by_id = {obj["id"]: obj for objects in self.objects.values() for obj in objects}

    @staticmethod
    def _event(kind: str, obj: dict, created: int) -> dict:
        return {
            "id": _event_id(kind, obj["id"], created),
            "object": "event",
            "api_version": API_VERSION,
            "created": created,
            "data": {"object": obj},  # the object as it is now: clients re-read it by id anyway
            "livemode": False,
            "pending_webhooks": 0,
            "type": kind,
        }

    def _add_subscription(self, sub: dict, now: int, prices: dict, coupons: dict, events: list[dict]) -> None:
        obj = billing.subscription_object(sub, now)
        self.objects["subscriptions"].append(obj)
        invoices, charges, refunds = billing.ledger(sub, now)
        self.objects["invoices"].extend(invoices)
        self.objects["charges"].extend(charges)
        self.objects["refunds"].extend(refunds)
        for item in obj["items"]["data"]:
            prices[item["price"]["id"]] = item["price"]
        for invoice in invoices:
            for line in invoice["lines"]["data"]:
                prices[line["price"]["id"]] = line["price"]
        discount = billing.discount_object(sub)
        if discount:
            coupons[discount["coupon"]["id"]] = discount["coupon"]
        event = self._event
        events.append(event("customer.subscription.created", obj, sub["created"]))
        updates = [phase["at"] for phase in sub["phases"][1:]]
        if sub["trial_end"] and (sub["ended_at"] is None or sub["ended_at"] > sub["trial_end"]):
            updates.append(sub["trial_end"])
        failure = sub["failure"]
        if failure and failure["outcome"] != "incomplete":
            begin = billing.period_start(
                billing.billing_anchor(sub), sub["interval"], sub["interval_count"], failure["period"]
            )
            updates.append(begin + 3600)
            if failure["outcome"] in ("recovered", "unpaid"):
                updates.append(failure["at"])
        if sub["cancel_at_period_end"] and sub["canceled_at"]:
            updates.append(sub["canceled_at"])
        # a subscription event carries the subscription as it was right after the change
        events.extend(
            event("customer.subscription.updated", billing.subscription_object(sub, at), at) for at in updates
        )
        if sub["ended_at"] is not None:
            events.append(event("customer.subscription.deleted", obj, sub["ended_at"]))
        for invoice in invoices:
            transitions = invoice["status_transitions"]
            events.append(event("invoice.created", invoice, invoice["created"]))
            for name, at in (
                ("invoice.finalized", transitions["finalized_at"]),
                ("invoice.paid", transitions["paid_at"]),
                ("invoice.marked_uncollectible", transitions["marked_uncollectible_at"]),
                ("invoice.voided", transitions["voided_at"]),
            ):
                if at is not None:
                    events.append(event(name, invoice, at))
        for charge in charges:
            events.append(event(f"charge.{charge['status']}", charge, charge["created"]))
            if charge["status"] == "failed":
                invoice = next(i for i in invoices if i["id"] == charge["invoice"])
                events.append(event("invoice.payment_failed", invoice, charge["created"]))
        for refund in refunds:
            charge = next(c for c in charges if c["id"] == refund["charge"])
            events.append(event("charge.refunded", charge, refund["created"]))


class StripeAPI:
    """The Stripe vendor: API routes, control routes and fault answers."""

    name = "stripe"
    stats_keys = ("stripe_objects_returned", "stripe_events_returned")

    def __init__(
        self, company: Company, token: str, rate_limit: int = 1000, rate_window: float = 10.0
    ) -> None:
        self.company = company
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None
        self._ledger_version = -1
        self._lists: dict[tuple, tuple[list[dict], dict[str, int]]] = {}
        self.versions_seen: dict[str, int] = {}

    def today(self) -> int:
        """The sandbox's clock: its anchor day, moved on by the changes made (see Company.billing_now)."""
        return self.company.anchor_ts + self.company.billing_now - self.company.latest_ts

    def ledger(self) -> Ledger:
        """The objects, rebuilt when the company's billing changed."""
        with self._lock:
            if self._ledger is None or self._ledger_version != self.company.billing_version:
                self._ledger = Ledger(self.company)
                self._ledger_version = self.company.billing_version
                self._lists.clear()
            return self._ledger

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/stripe<path>`: rate limit, auth, then the route."""
        allowed, _, _ = self.rate.take()
        version = request.headers.get("Stripe-Version") or API_VERSION
        with self._lock:
            self.versions_seen[version] = self.versions_seen.get(version, 0) + 1
        if not allowed:
            response = self.fault(429, 1)
        elif not self._authorized(request.headers.get("Authorization") or ""):
            response = StripeError(401, "Invalid API Key provided: sk_****").response()
        else:
            try:
                response = self._route(request)
            except StripeError as exc:
                response = exc.response()
        response.headers.update({"Stripe-Version": version, "Request-Id": f"req_{time.time_ns() % 10**12}"})
        return response

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer":
            return value == self.token
        if scheme == "Basic":
            try:
                return base64.b64decode(value).decode().partition(":")[0] == self.token
            except ValueError:
                return False
        return False

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method != "GET" or len(parts) < 2 or parts[0] != "v1" or parts[1] not in RESOURCES:
            raise StripeError(404, f"Unrecognized request URL ({request.method}: {request.path}).")
        query = {name: values for name, values in request.query.items()}
        ledger = self.ledger()
        resource = parts[1]
        if len(parts) == 2:
            return self._list(ledger, resource, query, f"/v1/{resource}")
        obj = ledger.by_id.get(parts[2])
        if obj is None or self._resource_of(ledger, obj) != resource:
            singular = resource.rstrip("s")
            raise StripeError(404, f"No such {singular}: '{parts[2]}'", "id", "resource_missing")
        if len(parts) == 4 and resource == "invoices" and parts[3] == "lines":
            lines = obj["lines"]["data"]
            return self._page(
                lines,
                query,
                f"/v1/invoices/{obj['id']}/lines",
                {line["id"]: n for n, line in enumerate(lines)},
            )
        if len(parts) != 3:
            raise StripeError(404, f"Unrecognized request URL ({request.method}: {request.path}).")
        if resource == "events" and obj["created"] < self.today() - EVENT_DAYS * 86_400:
            raise StripeError(404, f"No such event: '{parts[2]}'", "id", "resource_missing")
        expanded = self._expand(ledger, self._served(obj), query.get("expand[]", []), "")
        return Response(200, expanded, records={"stripe_objects_returned": 1})

    @staticmethod
    def _resource_of(ledger: Ledger, obj: dict) -> str:
        return {
            "customer": "customers",
            "subscription": "subscriptions",
            "price": "prices",
            "coupon": "coupons",
            "invoice": "invoices",
            "charge": "charges",
            "refund": "refunds",
            "event": "events",
        }[obj["object"]]

    @staticmethod
    def _served(obj: dict) -> dict:
        """The object as Stripe serves it: an invoice embeds only its first lines."""
        if obj["object"] != "invoice" or len(obj["lines"]["data"]) <= EMBEDDED_LINES:
            return obj
        lines = {**obj["lines"], "data": obj["lines"]["data"][:EMBEDDED_LINES], "has_more": True}
        return {**obj, "lines": lines}

    def _list(self, ledger: Ledger, resource: str, query: dict[str, list[str]], url: str) -> Response:
        allowed = {"limit", "starting_after", "ending_before", "expand[]", "created"} | {
            f"created[{op}]" for op in _CREATED_OPS
        }
        allowed |= {
            "customers": {"email"},
            "subscriptions": {"customer", "status", "price"},
            "prices": {"active", "type"},
            "coupons": set(),
            "invoices": {"customer", "subscription", "status"},
            "charges": {"customer"},
            "refunds": {"charge"},
            "events": {"type", "types[]"},
        }[resource]
        for name in query:
            if name not in allowed:
                raise StripeError(400, f"Received unknown parameter: {name}", name, "parameter_unknown")
        filters = {
            name: tuple(values)
            for name, values in query.items()
            if name not in ("limit", "starting_after", "ending_before", "expand[]")
        }
        key = (resource, tuple(sorted(filters.items())))
        with self._lock:
            cached = self._lists.get(key)
        if cached is None:
            objects = [obj for obj in ledger.objects[resource] if self._matches(resource, obj, query)]
            cached = (objects, {obj["id"]: n for n, obj in enumerate(objects)})
            with self._lock:
                self._lists[key] = cached
        response = self._page(cached[0], query, url, cached[1])
        response.body["data"] = [
            self._expand(ledger, self._served(obj), query.get("expand[]", []), "data.")
            for obj in response.body["data"]
        ]
        return response

    def _matches(self, resource: str, obj: dict, query: dict[str, list[str]]) -> bool:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        for name, values in query.items():
            op = name[8:-1] if name.startswith("created[") else ("eq" if name == "created" else None)
            if op is None:
                continue
            try:
                bound = int(values[-1])
            except ValueError as exc:
                raise StripeError(400, f"Invalid integer: {values[-1]}", name) from exc
            if (
                op == "eq"
                and obj["created"] != bound
                or op != "eq"
                and not _CREATED_OPS[op](obj["created"], bound)
            ):
                return False
        if resource == "events":
            if obj["created"] < self.today() - EVENT_DAYS * 86_400:
                return False
            types = query.get("types[]", []) + ([one("type")] if one("type") else [])
            if types and not any(
                t == obj["type"] or (t.endswith(".*") and obj["type"].startswith(t[:-1])) for t in types
            ):
                return False
        for field in ("customer", "subscription", "charge"):
            if one(field) is not None and obj.get(field) != one(field):
                return False
        if resource == "customers" and one("email") is not None and obj["email"] != one("email"):
            return False
        status = one("status")
        if resource == "subscriptions":
            known = {
                "active",
                "past_due",
                "unpaid",
                "canceled",
                "incomplete",
                "incomplete_expired",
                "trialing",
                "paused",
                "all",
                "ended",
            }
            if status is not None and status not in known:
                raise StripeError(400, f"Invalid status: must be one of {', '.join(sorted(known))}", "status")
            if status is None:
                return obj["status"] not in ("canceled", "incomplete_expired")
            if status == "ended":
                return obj["status"] in ("canceled", "incomplete_expired")
            return status == "all" or obj["status"] == status
        return not (resource == "invoices" and status is not None and obj["status"] != status)

    def _page(
        self, objects: list[dict], query: dict[str, list[str]], url: str, positions: dict[str, int]
    ) -> Response:
        raw = (query.get("limit") or [str(DEFAULT_LIMIT)])[-1]
        try:
            limit = int(raw)
        except ValueError as exc:
            raise StripeError(400, f"Invalid integer: {raw}", "limit") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise StripeError(
                400,
                f"This value must be greater than or equal to 1 and less than or equal to {MAX_LIMIT}.",
                "limit",
            )
        after, before = (
            (query.get("starting_after") or [None])[-1],
            (query.get("ending_before") or [None])[-1],
        )
        for name, cursor in (("starting_after", after), ("ending_before", before)):
            if cursor is not None and cursor not in positions:
                raise StripeError(400, f"No such object: '{cursor}'", name, "resource_missing")
        if before is not None:
            end = positions[before]
            start = max(0, end - limit)
            page, has_more = objects[start:end], start > 0
        else:
            start = positions[after] + 1 if after is not None else 0
            page, has_more = objects[start : start + limit], start + limit < len(objects)
        key = "stripe_events_returned" if url == "/v1/events" else "stripe_objects_returned"
        body = {"object": "list", "data": page, "has_more": has_more, "url": url}
        return Response(200, body, records={key: len(page)})

    def _expand(self, ledger: Ledger, obj: dict, paths: list[str], prefix: str) -> dict:
        wanted = [path[len(prefix) :] for path in paths if path.startswith(prefix)]
        if not wanted:
            return obj
        out = dict(obj)
        for path in wanted:
            field = path.split(".")[0]
            value = out.get(field)
            if (
                not isinstance(value, str)
                or value.split("_")[0] not in _PREFIXES
                or value not in ledger.by_id
            ):
                if field not in out or value is None or isinstance(value, dict):
                    continue
                raise StripeError(400, f"This property cannot be expanded ({prefix}{field}).", "expand")
            out[field] = ledger.by_id[value]
        return out

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """`POST /_sandbox/stripe/subscriptions/{id}` ({"quantity": n, "tier": name}): the customer changes
        the subscription now; `POST /_sandbox/stripe/subscriptions` ({"changes": [{"id": ..., "quantity": n,
        "tier": name}, ...]}): many such changes, a minute apart, for the price of one (the ledger is rebuilt
        once, when next read); `GET /_sandbox/stripe/versions`: Stripe-Version headers seen."""
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts == ["versions"]:
            with self._lock:
                return Response(200, dict(self.versions_seen))
        if request.method == "POST" and parts[0] == "subscriptions" and len(parts) <= 2:
            body = request.json()
            changes = [{**body, "id": parts[1]}] if len(parts) == 2 else body.get("changes", [])
            ledger = self.ledger()
            for change in changes:  # all checked before any is made
                sub = ledger.by_id.get(change["id"])
                if sub is None or sub["object"] != "subscription":
                    return Response(404, {"error": f"unknown subscription {change['id']}"})
                if change.get("tier") is not None and change["tier"] not in billing.TIER_RANK:
                    return Response(400, {"error": f"unknown tier {change['tier']}"})
            for change in changes:
                index = ledger.customer_index[ledger.by_id[change["id"]]["customer"]]
                self.company.change_subscription(
                    index, change["id"], change.get("quantity"), change.get("tier")
                )
            if len(parts) == 2:
                return Response(200, self.ledger().by_id[parts[1]])
            return Response(200, {"changed": len(changes)})
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """Stripe's answer for an injected error status."""
        if status == 429:
            return Response(
                429,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "rate_limit",
                        "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                    }
                },
                headers={"Stripe-Should-Retry": "true", "Retry-After": str(retry_after)},
            )
        if status == 401:
            return StripeError(401, "Invalid API Key provided: sk_****").response()
        return Response(
            status,
            {"error": {"type": "api_error", "message": "An unknown error occurred"}},
            headers={"Stripe-Should-Retry": "true"},
        )
