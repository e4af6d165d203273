"""Pieces every loader shares: an HTTP session that retries politely, and record quarantine."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import dlt
import orjson
import requests
from dlt.common.jsonpath import TJsonPath, compile_path
from requests.adapters import HTTPAdapter
from requests.hooks import dispatch_hook

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Nineteen digits in a row may be an integer beyond 64 bits, which orjson would read as a float (is_json):
# looked for as nineteen 1s in the body with every digit made a 1 (a tenth of the time of a regex search).
DIGITS_AS_ONES = bytes(ord("1") if ord("0") <= byte <= ord("9") else ord("0") for byte in range(256))
NINETEEN_DIGITS = b"1" * 19
# An X-RateLimit-Reset at least this large is an epoch second; a smaller one counts seconds from now.
EPOCH_SECONDS_SINCE_2001 = 1_000_000_000

QUARANTINE_TABLE = "quarantine"
QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    primary_key="quarantine_id",
    write_disposition="merge",
    columns={
        "quarantine_id": {"data_type": "text", "nullable": False},
        "source": {"data_type": "text"},
        "entity": {"data_type": "text"},
        "record_id": {"data_type": "text"},
        "reason": {"data_type": "text"},
        "raw_record": {"data_type": "text"},
        "quarantined_at": {"data_type": "timestamp"},
    },
)


def retry_delay(response: requests.Response | None, attempt: int, backoff: float, max_delay: float) -> float:
    """Seconds to wait before retrying: the server's word first, else exponential backoff.

    The server's word is Retry-After; else X-RateLimit-Reset, an epoch second (Intercom) or a number of
    seconds from now (Calendly); else, for a 429, HubSpot's rolling window
    (X-HubSpot-RateLimit-Interval-Milliseconds)."""
    if response is not None:
        headers = response.headers
        retry_after = (headers.get("Retry-After") or "").strip()
        if retry_after.isdigit():
            return min(float(retry_after), max_delay)
        reset = (headers.get("X-RateLimit-Reset") or "").strip()
        if reset.isdigit():
            if int(reset) < EPOCH_SECONDS_SINCE_2001:
                return min(float(reset), max_delay)
            return min(max(float(reset) - time.time(), 0.0) + 0.05, max_delay)  # a little past the reset
        interval = (headers.get("X-HubSpot-RateLimit-Interval-Milliseconds") or "").strip()
        if response.status_code == 429 and interval.isdigit():
            return min(int(interval) / 1000, max_delay)
    return min(backoff * (2**attempt), max_delay)


class RetryingSession(requests.Session):
    """A requests session that retries 429/5xx answers and dropped connections with backoff, honouring
    Retry-After and X-RateLimit-Reset, and pauses when the server says the rate-limit budget is spent.

    The attempt count and the requests made are kept so a sync can report what it cost.

    Why not dlt's retrying client (dlt.sources.helpers.requests.Client, tenacity-based): it covers backoff
    and Retry-After, but not what these vendors need, each pinned by a test that fails without it:
    - X-RateLimit-Reset as an epoch second (Intercom) or seconds from now (Calendly), and HubSpot's
      rolling window header: `retry_delay`
      (tests/test_loader_units.py test_retry_delay_prefers_the_servers_word);
    - dlt's paginator raises in a response hook before a retry could run: hooks run once, on the final
      answer (test_a_paginated_intercom_sync_survives_429_and_500);
    - a 200 answer whose body is not JSON (a proxy's error page) is retried and named
      (tests/reliability/test_errors.py test_a_200_answer_that_is_not_json_is_retried_and_named);
    - the requests made per sync, which `gtm sync` reports and the benchmarks compare with the minimum."""

    def __init__(
        self,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_delay: float = 60.0,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        expect_json: bool = False,
    ) -> None:
        super().__init__()
        self.expect_json = expect_json
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_delay = max_delay
        self.timeout = timeout
        self.requests_made = 0
        self._lock = threading.Lock()  # loaders send from several threads (prefetched, concurrency)
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}
        self._sleep = sleep
        adapter = HTTPAdapter(pool_maxsize=8)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def merge_environment_settings(  # type: ignore[override]
        self, url: str | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests' settings from the environment (proxies, CA bundle), read once per host for the life of
        the session: requests reads every environment variable again for each request, a fifth of the CPU a
        small request costs (Calendly's invitees, one request per event)."""
        if proxies or stream is not None or verify is not None or cert is not None or not url:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        host = urlsplit(url)[:2]
        with self._lock:
            settings = self._environment.get(host)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, None, None, None)
            with self._lock:
                self._environment[host] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with retries. Response hooks (dlt's paginator raises in one) run once, on the answer that
        ends the retries, so a 429 or 500 is retried instead of raised on the first attempt."""
        kwargs.setdefault("timeout", self.timeout)
        hooks, request.hooks = request.hooks, {"response": []}
        try:
            response = self._send_with_retries(request, **kwargs)
        finally:
            request.hooks = hooks
        return dispatch_hook("response", hooks, response, **kwargs)

    def _send_with_retries(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        for attempt in range(self.max_attempts):
            last = attempt == self.max_attempts - 1
            with self._lock:
                self.requests_made += 1
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if last:
                    raise
                self._sleep(retry_delay(None, attempt, self.backoff, self.max_delay))
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(retry_delay(response, attempt, self.backoff, self.max_delay))
                continue
            if self.expect_json and response.ok and not is_json(response):
                if not last:  # a proxy's error page, a truncated answer: worth another try
                    self._sleep(retry_delay(None, attempt, self.backoff, self.max_delay))
                    continue
                raise requests.exceptions.InvalidJSONError(
                    f"{request.method} {request.url} answered {response.status_code} with a body that is "
                    f"not JSON after {self.max_attempts} attempts",
                    request=request,
                    response=response,
                )
            if response.ok and response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
                self._sleep(retry_delay(response, attempt, self.backoff, self.max_delay))
            return response
        raise AssertionError("unreachable")  # pragma: no cover


@functools.cache
def selector(path: str) -> TJsonPath:
    """A paginate ``data_selector`` parsed once: dlt parses a JSONPath string again for every page, about a
    millisecond each (a tenth of the Calendly loader's CPU, one invitee request per event)."""
    return compile_path(path)


def pages_of(
    client: Any, path: str, data: str, read_ahead: Callable[[Any], bool] | None = None, **request: Any
) -> Iterator[Any]:
    """Every page of a paginated listing (``data``: where an answer holds its records) through ``client``
    (a dlt RESTClient with the vendor's paginator), read ahead of the caller (``prefetched``); an error
    answer that outlasted the session's retries is raised. ``request``: paginate's method, params, json."""
    pages = client.paginate(path, data_selector=selector(data), **request)
    for page in prefetched(pages, read_ahead):
        page.response.raise_for_status()
        yield page


_DONE = object()


def prefetched(
    pages: Iterator[Any], read_ahead: Callable[[Any], bool] | None = None, depth: int = 2
) -> Iterator[Any]:
    """The pages of a paginated listing, the next ones requested while the caller processes this one.

    A cursor-paged API (Intercom's search, Stripe's lists) answers one page at a time, so a loader that
    fetches, then processes, pays the vendor's round trip and its own processing one after the other. Here a
    thread reads up to ``depth`` pages ahead: the sync then takes about as long as the vendor takes to
    answer. Pages come in order; an error while reading (after retries) is raised where that page would have
    come; closing this generator stops the thread before its next request.

    ``read_ahead(page)`` false means the caller may stop after that page (an incremental resource closes at
    the first record it has already loaded): the next page is then requested only when the caller asks for
    it, so reading ahead never costs a request the caller would not have made."""
    answers: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    asked = threading.Condition()
    counts = {"asked": 0, "handed": 0}  # pages the caller asked for, pages handed over

    def hand_over(item: Any) -> bool:
        while not stop.is_set():
            try:
                answers.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not hand_over(page):
                    break
                counts["handed"] += 1
                if read_ahead is not None and not read_ahead(page):
                    with asked:  # the next request only once the caller wants the next page
                        asked.wait_for(lambda: counts["asked"] > counts["handed"] or stop.is_set())
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            hand_over(_Raised(exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            hand_over(_DONE)

    reader = threading.Thread(target=read, name="prefetch", daemon=True)
    reader.start()
    try:
        while True:
            with asked:
                counts["asked"] += 1
                asked.notify()
            item = answers.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        with asked:
            asked.notify()
        reader.join()


class _Raised:
    """An exception of the reading thread, on its way to the caller."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def is_json(response: requests.Response) -> bool:
    """Whether an answer's body parses as JSON (an empty body counts: nothing to parse).

    The parsed body is kept as the answer's ``json()``, so the paginator does not parse each page a second
    time."""
    body = response.content
    if not body.strip():
        return True
    try:
        parsed = parsed_json(body)
    except ValueError:
        return False
    response.json = lambda **_: parsed  # type: ignore[method-assign]
    return True


def parsed_json(body: bytes) -> Any:
    """``body`` parsed by orjson (a 418 KB page: 1.8 ms against Python's 5.1 ms), unless it holds a run of
    19 digits: orjson reads an integer beyond 64 bits as a float, and such a value must reach value_problem
    as the integer it is, to be quarantined. What orjson refuses (NaN, Infinity, 1e400) Python's parser
    reads, for value_problem to name; ValueError when neither can."""
    if NINETEEN_DIGITS not in body.translate(DIGITS_AS_ONES):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def quarantine_row(source: str, entity: str, record: Any, reason: str) -> dict[str, Any]:
    """A quarantine row for ``record`` (kept whole as JSON); yield rows through ``quarantined``.

    Its key is a hash of the record's id (of what was rejected when it has none): re-running a sync merges
    instead of appending, and a record rejected again in a later version replaces its earlier entry, so an
    incremental sync ends with the quarantine a full sync would have."""
    raw = json.dumps(record, sort_keys=True, default=str)
    record_id = record.get("id") if isinstance(record, Mapping) else None
    identity = f"id:{record_id}" if record_id not in (None, "") else f"{raw}|{reason}"
    digest = hashlib.sha256(f"{source}|{entity}|{identity}".encode()).hexdigest()[:32]
    return {
        "quarantine_id": digest,
        "source": source,
        "entity": entity,
        "record_id": None if record_id is None else str(record_id),
        "reason": reason,
        "raw_record": raw,
        "quarantined_at": datetime.now(timezone.utc),
    }


def quarantining(*resources: Any) -> list[Any]:
    """The resources of a source, each with the ``quarantine`` table declared as a table variant of its own
    (QUARANTINE_HINTS), where ``quarantined`` sends their rejected records by name. Every resource that
    quarantines must be declared: a source returns ``quarantining(...)``.

    Declared once, not with each batch: dlt takes hints that come with an item as a change to the resource
    and computes every table schema of the resource again for its next batch (about 10 ms a page, a sixth of
    the Intercom loader's CPU when most pages hold a bad record)."""
    for resource in resources:
        # a new variant starts as a copy of the resource's hints: its columns emptied, so that the table has
        # the quarantine's columns only, whichever resource quarantines first
        resource.apply_hints(table_name=QUARANTINE_TABLE, columns={}, create_table_variant=True)
        resource.merge_hints(QUARANTINE_HINTS, create_table_variant=True)
    return list(resources)


def quarantined(rows: list[dict[str, Any]]) -> Iterator[Any]:
    """What a resource declared by ``quarantining`` yields for a page's quarantine rows: one batch routed
    to its ``quarantine`` table variant (dlt computes a batch's table schema once; a row at a time cost a
    sync about 15 ms per bad record)."""
    if rows:
        yield dlt.mark.with_table_name(rows, QUARANTINE_TABLE)


def split_page(
    source: str, entity: str, page: Iterable[Any], check: Callable[[Any], tuple[Any, str | None]]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The records of a page that can be loaded, and quarantine rows for the others (yield them through
    ``quarantined``). ``check(record)`` returns (the record to load, None), or (anything, the reason it
    cannot be loaded); a record whose values cannot be stored alike on every warehouse (value_problem) is
    not even checked."""
    good, bad = [], []
    for record in page:
        problem = value_problem(record)
        loaded, problem = (None, problem) if problem else check(record)
        if problem is None and loaded is not None:
            good.append(loaded)
        else:
            bad.append(quarantine_row(source, entity, record, problem or "malformed"))
    return good, bad


def checked_records(
    source: str, entity: str, page: Iterable[Any], check: Callable[[Any], tuple[Any, str | None]]
) -> Iterator[Any]:
    """What a resource yields for a page: a quarantine row for each record that cannot be loaded, then the
    loadable records as one batch (see split_page).

    Quarantine rows come first: an incremental resource that reads newest first closes its generator at
    the first record older than its cursor, and anything yielded after that batch would be dropped."""
    good, bad = split_page(source, entity, page, check)
    yield from quarantined(bad)
    if good:
        yield good


def parse_iso_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (`2024-05-01T10:00:00Z`, fractions optional; naive means UTC) as an aware
    datetime; None for null or empty; ValueError when it is not one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def timestamp_problem(
    record: Mapping[str, Any], fields: tuple[str, ...], required: tuple[str, ...]
) -> str | None:
    """Why the Unix-second timestamps of ``record`` are unusable, or None when they are fine."""
    for field in fields:
        value = record.get(field)
        if value is None:
            if field in required:
                return f"{field} is missing"
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{field} is not a non-negative integer timestamp: {value!r}"
        if value >= LATEST_EPOCH_SECOND:
            return f"{field} is not a Unix-second timestamp (milliseconds?): {value!r}"
    return None


# Unix seconds of 2100-01-01: a larger "timestamp" is in milliseconds or microseconds, or garbage.
LATEST_EPOCH_SECOND = 4_102_444_800
INT64 = (-(2**63), 2**63 - 1)


def value_problem(value: Any, path: str = "record") -> str | None:
    """Why a value (walked into objects and lists) cannot be stored the same way on every warehouse: an
    integer beyond 64 bits, a number that is not finite, a NUL byte in a string. None when it can."""
    if _storable(value):
        return None  # the common case, checked without building paths
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64[0] <= value <= INT64[1] else f"{path} exceeds the 64-bit integer range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is not a finite number"
    if isinstance(value, str):
        return f"{path} contains a NUL byte" if "\x00" in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = value_problem(item, f"{path}.{key}" if path != "record" else str(key))
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = value_problem(item, f"{path}[{index}]")
            if problem:
                return problem
    return None


def _storable(value: Any) -> bool:
    """value_problem's fast path for parsed JSON: exact types, no paths. False sends a value (or one of
    another type) to the full walk, which names the problem."""
    kind = type(value)
    if kind is str:
        return "\x00" not in value
    if kind is dict:
        for item in value.values():  # noqa: SIM110 - a plain loop is faster here than all() of a generator
            if not _storable(item):
                return False
        return True
    if kind is int:
        return INT64[0] <= value <= INT64[1]
    if kind is list:
        for item in value:  # noqa: SIM110 - as above
            if not _storable(item):
                return False
        return True
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is bool
