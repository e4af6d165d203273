"""One HTTP server for every sandbox vendor (each under `/<vendor>`) plus the `/_sandbox/` control routes."""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.api import BadRequest, Request, Response, Vendor
from sandbox.calendly import CalendlyAPI
from sandbox.chartmogul import ChartMogulAPI
from sandbox.company import Company
from sandbox.crm import CRM
from sandbox.ecb import EcbAPI
from sandbox.fathom import FathomAPI
from sandbox.hubspot import HubSpotAPI
from sandbox.intercom import IntercomAPI
from sandbox.product_db import ProductDB
from sandbox.stripe import StripeAPI
from sandbox.userflow import UserflowAPI


class Stats:
    """Requests served per `METHOD /path`, response statuses and records returned (thread-safe)."""

    def __init__(self, record_keys: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._record_keys = record_keys
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._statuses: Counter[str] = Counter()
            self._records: Counter[str] = Counter(dict.fromkeys(self._record_keys, 0))
            self._control: Counter[str] = Counter()

    def count(self, key: str, status: int, records: dict[str, int]) -> None:
        """Count one vendor API request."""
        with self._lock:
            self._requests[key] += 1
            self._statuses[str(status)] += 1
            self._records.update(records)

    def count_control(self, key: str) -> None:
        """Count one control request (kept out of the total)."""
        with self._lock:
            self._control[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """The JSON document `GET /_sandbox/stats` answers."""
        with self._lock:
            return {
                "total": sum(self._requests.values()),
                "requests": dict(self._requests),
                "statuses": dict(self._statuses),
                "records": dict(self._records),
                "control": dict(self._control),
            }


@dataclass
class Fault:
    """An injected fault: matching requests answer `status` and/or are delayed by `delay_ms`."""

    path_prefix: str
    status: int | None
    count: int | None  # firings left; None = until cleared
    every: int | None  # fire on every n-th matching request only
    delay_ms: int
    retry_after: int
    seen: int = 0


class Faults:
    """The active faults, consulted before each vendor request (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: Any) -> Fault:
        """Validate and register a fault from its JSON spec."""
        if not isinstance(spec, dict):
            raise BadRequest("fault must be a JSON object")
        known = {"path_prefix", "status", "count", "every", "delay_ms", "retry_after"}
        if set(spec) - known:
            raise BadRequest(f"unknown fault keys: {sorted(set(spec) - known)}")
        status, every, count = spec.get("status"), spec.get("every"), spec.get("count")
        delay_ms, retry_after = spec.get("delay_ms", 0), spec.get("retry_after", 1)
        path_prefix = spec.get("path_prefix", "/")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise BadRequest("status must be an HTTP error status (400-599)")
        for name, value in (("count", count), ("every", every)):
            if value is not None and not (isinstance(value, int) and value >= 1):
                raise BadRequest(f"{name} must be a positive integer")
        for name, value in (("delay_ms", delay_ms), ("retry_after", retry_after)):
            if not (isinstance(value, int) and value >= 0):
                raise BadRequest(f"{name} must be a non-negative integer")
        if not isinstance(path_prefix, str):
            raise BadRequest("path_prefix must be a string")
        if status is None and not delay_ms:
            raise BadRequest("a fault needs a status or a delay_ms")
        if count is None and status is not None and every is None:
            count = 1
        fault = Fault(path_prefix, status, count, every, delay_ms, retry_after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict]:
        """The active faults as JSON objects."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def check(self, path: str) -> tuple[float, int | None, int]:
        """(delay in seconds, error status or None, retry_after) for a request to `path`."""
        delay_ms, status, retry_after = 0, None, 0
        with self._lock:
            for fault in list(self._faults):
                if not path.startswith(fault.path_prefix):
                    continue
                fault.seen += 1
                if fault.every and fault.seen % fault.every:
                    continue
                delay_ms += fault.delay_ms
                if status is None and fault.status is not None:
                    status, retry_after = fault.status, fault.retry_after
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
        return delay_ms / 1000, status, retry_after


class SandboxServer(ThreadingHTTPServer):
    """The sandbox: a threading HTTP server holding the company, the vendors, stats and faults."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        company: Company,
        token: str,
        rate_limit: int = 1000,
        rate_window: float = 10.0,
        fathom_rate_limit: int = 60,
    ) -> None:
        self.company = company
        self.crm = CRM(company)  # HubSpot and Calendly data over the same people
        self.product_db = ProductDB(self.crm)  # the product's own database (written on request, not served)
        vendors: list[Vendor] = [
            IntercomAPI(company, token, rate_limit, rate_window),
            HubSpotAPI(self.crm, token, rate_limit, rate_window),
            CalendlyAPI(self.crm, token, rate_limit, rate_window),
            UserflowAPI(self.product_db, token, rate_limit, rate_window),
            FathomAPI(self.crm, token, fathom_rate_limit, 60.0),  # Fathom: 60 requests a minute
            StripeAPI(company, token, rate_limit, rate_window),
            ChartMogulAPI(company, token, rate_limit, rate_window),
            EcbAPI(company, company.seed),
        ]
        self.vendors = {vendor.name: vendor for vendor in vendors}
        self.stats = Stats(tuple(key for vendor in vendors for key in vendor.stats_keys))
        self.faults = Faults()
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server (vendors live below it, e.g. `/intercom`)."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def vendor_urls(self) -> dict[str, str]:
        """The base URL of every vendor, to give loaders as `SOURCES__<NAME>__BASE_URL`."""
        return {name: f"{self.base_url}/{name}" for name in self.vendors}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY each keep-alive answer waits ~40 ms for a delayed
    # ACK, which made loaders that send one request per record (Calendly invitees) crawl.
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Quiet: no per-request logging."""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        head, _, rest = split.path.strip("/").partition("/")

        def request(path: str) -> Request:
            return Request(self.command, path, parse_qs(split.query), self.headers, body)

        if head == "_sandbox":
            self.server.stats.count_control(f"{self.command} {split.path}")
            response = self._control(request(f"/{rest}"))
        elif head in self.server.vendors:
            vendor = self.server.vendors[head]
            delay, status, retry_after = self.server.faults.check(split.path)
            if delay:
                time.sleep(delay)
            try:
                response = vendor.fault(status, retry_after) if status else vendor.handle(request(f"/{rest}"))
            except Exception as exc:  # a bug must answer 500, not kill the connection
                response = Response(500, {"error": f"{type(exc).__name__}: {exc}"})
            self.server.stats.count(f"{self.command} {split.path}", response.status, response.records)
        else:
            response = Response(404, {"error": f"no route {split.path}"})
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _control(self, request: Request) -> Response:
        server = self.server
        route = (request.method, request.path.rstrip("/"))
        if route == ("GET", "/health"):
            return Response(200, {"ok": True})
        if route == ("GET", "/stats"):
            return Response(200, server.stats.snapshot())
        if route == ("POST", "/stats/reset"):
            server.stats.reset()
            return Response(200, {"ok": True})
        if route == ("GET", "/faults"):
            return Response(200, {"faults": server.faults.active()})
        if route == ("DELETE", "/faults"):
            server.faults.clear()
            return Response(200, {"ok": True, "faults": []})
        if route == ("POST", "/faults"):
            try:
                server.faults.add(request.json())
            except BadRequest as exc:
                return Response(400, {"error": str(exc)})
            return Response(200, {"ok": True, "faults": server.faults.active()})
        vendor_name, _, rest = request.path.strip("/").partition("/")
        if vendor_name in server.vendors:
            request.path = f"/{rest}"
            return server.vendors[vendor_name].control(request)
        return Response(404, {"error": f"no control route {request.path}"})

    def _send(self, response: Response) -> None:
        raw = isinstance(response.body, bytes)  # a file download (the ECB's ZIP) carries its own type
        payload = response.body if raw else json.dumps(response.body).encode()
        self.send_response(response.status)
        if not raw:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def make_server(
    host: str = "127.0.0.1",
    port: int = 0,
    customers: int = 2000,
    seed: int = 42,
    token: str = "sandbox",
    anchor: datetime.date | None = None,
    rate_limit: int = 1000,
    rate_window: float = 10.0,
    fathom_rate_limit: int = 60,
) -> SandboxServer:
    """A bound, not yet serving sandbox (port 0 = any free port)."""
    company = Company(seed=seed, customers=customers, anchor=anchor)
    return SandboxServer((host, port), company, token, rate_limit, rate_window, fathom_rate_limit)


def start_in_thread(**kwargs: Any) -> SandboxServer:
    """Start a sandbox (arguments of make_server) on a daemon thread; stop: shutdown() + server_close()."""
    server = make_server(**kwargs)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="gtm-sandbox"
    ).start()
    return server


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    customers: int = 2000,
    seed: int = 42,
    token: str = "sandbox",
    anchor: datetime.date | None = None,
    rate_limit: int = 1000,
    fathom_rate_limit: int = 60,
) -> None:
    """Serve until Ctrl-C, after printing one `<vendor>  <base URL>` line per vendor."""
    server = make_server(
        host=host,
        port=port,
        customers=customers,
        seed=seed,
        token=token,
        anchor=anchor,
        rate_limit=rate_limit,
        fathom_rate_limit=fathom_rate_limit,
    )
    for name, url in server.vendor_urls().items():
        print(f"{name:<10}{url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
