"""HubSpot CRM API (v3 objects and search, v3 owners, v4 associations) over a `CRM`, served under `/hubspot`.

Implements what the loaders use: `POST /crm/v3/objects/{contacts|companies|deals}/search` (filterGroups,
one sort, properties, limit up to 200, offset paging through `paging.next.after` and the 10,000-result cap
of search), `GET /crm/v3/owners` (active, or archived with `archived=true`) and
`POST /crm/v4/associations/{from}/{to}/batch/read`, behind bearer auth and HubSpot's rate-limit answers.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.api import BadRequest, RateWindow, Request, Response
from sandbox.crm import CRM, MAX_DEALS, parse_time

SEARCH_CAP = 10_000  # HubSpot's search returns at most this many results per query
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_OWNERS_LIMIT = 500
MAX_BATCH_INPUTS = 1000
MAX_FILTER_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
DAILY_LIMIT = 500_000
_CACHE_SIZE = 32

TIMESTAMP_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"}
NUMBER_PROPERTIES = {"hs_object_id", "amount", "associatedcompanyid", "numberofemployees"}
OBJECT_TYPES = {
    "contacts": "contacts", "contact": "contacts", "0-1": "contacts",
    "companies": "companies", "company": "companies", "0-2": "companies",
    "deals": "deals", "deal": "deals", "0-3": "deals",
}  # fmt: skip
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
# v4 association type ids HubSpot defines for the pairs the sandbox answers.
ASSOCIATION_TYPES = {("deals", "contacts"): 3, ("contacts", "companies"): 279, ("contacts", "deals"): 4}


def _error(
    status: int, message: str, category: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response(status, body, headers=dict(headers or {}))


class _Objects:
    """One object type over the CRM: positions (ints), cheap fields, records."""

    def __init__(self, crm: CRM, object_type: str) -> None:
        self.crm = crm
        self.type = object_type
        self.stats_key = f"hubspot_{object_type}_returned"
        modified: Callable[[int], int]
        if object_type == "contacts":
            modified = crm.contact_modified_ms
            object_id: Callable[[int], str] = crm.contact_id
        elif object_type == "companies":
            modified, object_id = crm.company_modified_ms, crm.company_id
        else:
            modified = lambda pos: crm.deal_modified_ms(*divmod(pos, MAX_DEALS))  # noqa: E731
            object_id = lambda pos: crm.deal_id(*divmod(pos, MAX_DEALS))  # noqa: E731
        self.cheap: dict[str, Callable[[int], Any]] = {
            "lastmodifieddate": modified,
            "hs_lastmodifieddate": modified,
            "hs_object_id": lambda pos: int(object_id(pos)),
        }

    def positions(self) -> Iterator[int]:
        crm = self.crm
        if self.type == "contacts":
            yield from (p for p in range(crm.person_count) if crm.contact_exists(p))
        elif self.type == "companies":
            yield from range(crm.company_count)
        else:
            for c in range(crm.company_count):
                for k in range(crm.deal_count(c)):
                    yield c * MAX_DEALS + k

    def record(self, pos: int) -> dict:
        if self.type == "contacts":
            return self.crm.contact_record(pos)
        if self.type == "companies":
            return self.crm.company_record(pos)
        return self.crm.deal_record(*divmod(pos, MAX_DEALS))

    def position(self, object_id: str) -> int | None:
        crm = self.crm
        if self.type == "contacts":
            p = crm.contact_position(object_id)
            return p if p is not None and crm.contact_exists(p) else None
        if self.type == "companies":
            return crm.company_position(object_id)
        found = crm.deal_position(object_id)
        return None if found is None else found[0] * MAX_DEALS + found[1]


class _Row:
    """Lazy access to one object's property values for filtering and sorting."""

    __slots__ = ("objects", "pos", "_record")

    def __init__(self, objects: _Objects, pos: int) -> None:
        self.objects, self.pos, self._record = objects, pos, None

    def value(self, name: str) -> Any:
        cheap = self.objects.cheap.get(name)
        if cheap is not None:
            return cheap(self.pos)
        if self._record is None:
            self._record = self.objects.record(self.pos)
        raw = self._record["properties"].get(name)
        return _comparable(name, raw)


def _comparable(name: str, raw: Any) -> Any:
    """A property value as search compares it: timestamps as epoch ms, numbers as floats, text lower-cased."""
    if raw is None:
        return None
    if name in TIMESTAMP_PROPERTIES:
        seconds = parse_time(raw)
        return None if seconds is None else round(seconds * 1000)
    if name in NUMBER_PROPERTIES:
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    return str(raw).lower()


def _filter_value(name: str, value: Any) -> Any:
    if value is None:
        raise BadRequest(f"filter on {name} needs a value")
    converted = _comparable(name, value)
    if converted is None:
        raise BadRequest(f"{value!r} is not a valid value for {name}")
    return converted


def compile_filters(groups: Any) -> Callable[[_Row], bool]:
    """HubSpot filterGroups: groups are ORed, the filters of a group ANDed."""
    if not groups:
        return lambda row: True
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise BadRequest("filterGroups must be a list of objects")
    total = sum(len(g.get("filters") or []) for g in groups)
    if len(groups) > MAX_FILTER_GROUPS or total > MAX_FILTERS:
        raise BadRequest(f"at most {MAX_FILTER_GROUPS} filterGroups and {MAX_FILTERS} filters in all")
    compiled = []
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise BadRequest(f"at most {MAX_FILTERS_PER_GROUP} filters per group")
        compiled.append([_compile_filter(f) for f in filters])
    return lambda row: any(all(check(row) for check in group) for group in compiled)


def _compile_filter(spec: Any) -> Callable[[_Row], bool]:
    if not isinstance(spec, dict) or not isinstance(spec.get("propertyName"), str):
        raise BadRequest("a filter needs a propertyName")
    name, op = spec["propertyName"], spec.get("operator", "EQ")
    if op == "HAS_PROPERTY":
        return lambda row: row.value(name) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda row: row.value(name) is None
    if op in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list):
            raise BadRequest(f"{op} needs values")
        wanted = {_filter_value(name, v) for v in values}
        return lambda row: (row.value(name) in wanted) == (op == "IN")
    if op == "BETWEEN":
        low, high = _filter_value(name, spec.get("value")), _filter_value(name, spec.get("highValue"))
        return lambda row: (v := row.value(name)) is not None and low <= v <= high
    compare = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
    }.get(op)
    if compare is None:
        raise BadRequest(f"unsupported operator {op!r}")
    target = _filter_value(name, spec.get("value"))

    def matches(row: _Row) -> bool:
        value = row.value(name)
        if value is None:
            return op == "NEQ"
        try:
            return compare(value, target)
        except TypeError:
            return False

    return matches


class HubSpotAPI:
    """The HubSpot vendor: API routes, control routes and fault answers."""

    name = "hubspot"
    stats_keys = (
        "hubspot_contacts_returned",
        "hubspot_companies_returned",
        "hubspot_deals_returned",
        "hubspot_owners_returned",
        "hubspot_associations_returned",
    )

    def __init__(self, crm: CRM, token: str, rate_limit: int = 1000, rate_window: float = 10.0) -> None:
        self.crm = crm
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self.search_cap = SEARCH_CAP  # tests lower it to exercise windowing cheaply
        self.objects = {name: _Objects(crm, name) for name in ("contacts", "companies", "deals")}
        self._daily_used = 0
        self._cache: OrderedDict[tuple, list[int]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ---- API -----------------------------------------------------------------------------------------
    def _rate_headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Max": str(self.rate.limit),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.rate.seconds * 1000)),
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - self._daily_used)),
        }

    def handle(self, request: Request) -> Response:
        """Answer `/hubspot<path>`: rate limit, auth, then the route."""
        allowed, remaining, _ = self.rate.take()
        self._daily_used += 1
        headers = self._rate_headers(remaining)
        if not allowed:
            return _error(
                429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS", headers,
                errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING",
            )  # fmt: skip
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        try:
            response = self._route(request)
        except BadRequest as exc:
            response = _error(400, str(exc), "VALIDATION_ERROR")
        if not (request.method == "POST" and request.path.endswith("/search") and response.status == 200):
            response.headers.update(headers)  # like HubSpot, search answers carry no rate-limit headers
        return response

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if (
            request.method == "POST"
            and len(parts) == 5
            and parts[:3] == ["crm", "v3", "objects"]
            and parts[4] == "search"
        ):
            object_type = OBJECT_TYPES.get(parts[3])
            if object_type is None:
                return _error(400, f"Unable to infer object type from: {parts[3]}", "VALIDATION_ERROR")
            return self._search(self.objects[object_type], request)
        if request.method == "GET" and parts == ["crm", "v3", "owners"]:
            return self._owners(request)
        if (
            request.method == "POST"
            and len(parts) == 7
            and parts[:3] == ["crm", "v4", "associations"]
            and parts[5:] == ["batch", "read"]
        ):
            return self._associations(parts[3], parts[4], request)
        return _error(404, f"Unknown route {request.method} {request.path}", "OBJECT_NOT_FOUND")

    def _search(self, objects: _Objects, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise BadRequest("body must be an object")
        if body.get("query"):
            raise BadRequest("the sandbox does not implement free-text `query`; use filterGroups")
        match = compile_filters(body.get("filterGroups"))
        limit = _integer(body.get("limit", DEFAULT_LIMIT), "limit")
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        offset = _integer(body.get("after") or 0, "after")
        if offset + limit > self.search_cap:
            raise BadRequest(
                f"Search results are limited to {self.search_cap} records; "
                f"after={offset} with limit={limit} pages past them"
            )
        sort_name, descending = self._sort_spec(body.get("sorts"))
        requested = body.get("properties") or []
        if not isinstance(requested, list):
            raise BadRequest("properties must be a list")
        key = (
            objects.type,
            json.dumps(body.get("filterGroups"), sort_keys=True),
            sort_name,
            descending,
            self.crm.version,
        )
        positions = self._cache_get(key)
        if positions is None:
            positions = self._cache_put(key, self._matches(objects, match, sort_name, descending))
        names = set(DEFAULT_PROPERTIES[objects.type]) | set(requested)
        results = []
        for pos in positions[offset : offset + limit]:
            record = objects.record(pos)
            record["properties"] = {k: v for k, v in record["properties"].items() if k in names}
            results.append(record)
        answer: dict[str, Any] = {"total": len(positions), "results": results}
        if offset + limit < len(positions):
            answer["paging"] = {"next": {"after": str(offset + limit), "link": f"?after={offset + limit}"}}
        return Response(200, answer, records={objects.stats_key: len(results)})

    @staticmethod
    def _sort_spec(sorts: Any) -> tuple[str | None, bool]:
        if not sorts:
            return None, False
        if not isinstance(sorts, list) or len(sorts) != 1:
            raise BadRequest("search supports exactly one sort")
        sort = sorts[0]
        if isinstance(sort, str):
            return sort.lstrip("-"), sort.startswith("-")
        if not isinstance(sort, dict) or not isinstance(sort.get("propertyName"), str):
            raise BadRequest("a sort needs a propertyName")
        direction = sort.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise BadRequest("sort direction must be ASCENDING or DESCENDING")
        return sort["propertyName"], direction == "DESCENDING"

    @staticmethod
    def _matches(
        objects: _Objects, match: Callable[[_Row], bool], sort: str | None, descending: bool
    ) -> list[int]:
        rows = [_Row(objects, pos) for pos in objects.positions()]
        rows = [row for row in rows if match(row)]
        if sort is None:
            return [row.pos for row in rows]
        keyed = [((0, row.value(sort)) if row.value(sort) is not None else (1, 0), row.pos) for row in rows]
        keyed.sort(key=lambda item: item[0], reverse=descending)  # stable: ties keep id order
        return [pos for _, pos in keyed]

    def _owners(self, request: Request) -> Response:
        query = request.query
        archived = (query.get("archived") or ["false"])[0].lower() == "true"
        limit = _integer((query.get("limit") or [100])[0], "limit")
        if not 1 <= limit <= MAX_OWNERS_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_OWNERS_LIMIT}")
        offset = _integer((query.get("after") or [0])[0], "after")
        owners = self.crm.owners(archived=archived)
        email = (query.get("email") or [None])[0]
        if email:
            owners = [owner for owner in owners if owner["email"] == email.lower()]
        page = owners[offset : offset + limit]
        answer: dict[str, Any] = {"results": page}
        if offset + limit < len(owners):
            answer["paging"] = {"next": {"after": str(offset + limit), "link": f"?after={offset + limit}"}}
        return Response(200, answer, records={"hubspot_owners_returned": len(page)})

    def _associations(self, from_name: str, to_name: str, request: Request) -> Response:
        from_type, to_type = OBJECT_TYPES.get(from_name), OBJECT_TYPES.get(to_name)
        if from_type is None or to_type is None:
            raise BadRequest(
                f"Unable to infer object type from: {from_name if from_type is None else to_name}"
            )
        body = request.json()
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "id" in i for i in inputs):
            raise BadRequest("inputs must be a list of {id}")
        if len(inputs) > MAX_BATCH_INPUTS:
            raise BadRequest(f"at most {MAX_BATCH_INPUTS} inputs per batch")
        started = _now()
        results, errors, found = [], [], 0
        for item in inputs:
            from_id = str(item["id"])
            to_ids = self._associated(from_type, to_type, from_id)
            if to_ids is None:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"No {from_type} with id {from_id}",
                        "context": {"ids": [from_id]},
                    }
                )
                continue
            type_id = ASSOCIATION_TYPES.get((from_type, to_type), 1)
            to = [
                {
                    "toObjectId": int(to_id),
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
                }
                for to_id in to_ids
            ]
            found += len(to)
            results.append({"from": {"id": from_id}, "to": to})
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _now(),
        }
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
        return Response(207 if errors else 200, answer, records={"hubspot_associations_returned": found})

    def _associated(self, from_type: str, to_type: str, from_id: str) -> list[str] | None:
        crm = self.crm
        pos = self.objects[from_type].position(from_id)
        if pos is None:
            return None
        if (from_type, to_type) == ("deals", "contacts"):
            return crm.deal_contacts(*divmod(pos, MAX_DEALS))
        if (from_type, to_type) == ("contacts", "companies"):
            company = crm.contact_record(pos)["properties"].get("associatedcompanyid")
            return [company] if company else []
        if (from_type, to_type) == ("contacts", "deals"):
            c = crm.company_of(pos)
            if c is None:
                return []
            return [crm.deal_id(c, k) for k in range(crm.deal_count(c)) if from_id in crm.deal_contacts(c, k)]
        return []

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
        """`POST /_sandbox/hubspot/{contacts|companies|deals}/{id}` ({"properties": {...}}) and
        `POST /_sandbox/hubspot/contacts/merge` ({"primaryObjectId", "objectIdToMerge"})."""
        parts = request.path.strip("/").split("/")
        try:
            body = request.json()
        except BadRequest as exc:
            return Response(400, {"error": str(exc)})
        if request.method != "POST" or not isinstance(body, dict) or len(parts) != 2:
            return Response(404, {"error": f"no control route {request.method} {request.path}"})
        object_type = OBJECT_TYPES.get(parts[0])
        if object_type is None:
            return Response(404, {"error": f"unknown object type {parts[0]}"})
        try:
            if object_type == "contacts" and parts[1] == "merge":
                primary, merged = str(body.get("primaryObjectId")), str(body.get("objectIdToMerge"))
                return Response(200, self.crm.merge_contacts(primary, merged))
            properties = body.get("properties")
            if not isinstance(properties, dict):
                return Response(400, {"error": 'POST {"properties": {...}}'})
            return Response(200, self.crm.update_object(object_type, parts[1], properties))
        except KeyError as exc:
            return Response(404, {"error": f"unknown {object_type} {exc.args[0]}"})
        except ValueError as exc:
            return Response(409, {"error": str(exc)})

    def fault(self, status: int, retry_after: int) -> Response:
        """HubSpot's answer for an injected error (a 429 says how long its window is, no Retry-After)."""
        if status == 429:
            headers = self._rate_headers(0)
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(retry_after * 1000)
            return _error(
                429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS", headers,
                errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING",
            )  # fmt: skip
        if status == 401:
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        return _error(status, "internal error", "INTERNAL_ERROR")


def _integer(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be an integer") from exc
    if number < 0:
        raise BadRequest(f"{name} must not be negative")
    return number


def _now() -> str:
    stamp = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}Z"
