"""A local fake of the Slack Web API (`POST /api/chat.postMessage`) and of an incoming webhook
(`POST /services/...`), for the real slack-sdk client. It records every message it accepts and can be told
to answer the next requests with 429 + Retry-After, 500, a delay, or to record and then stall (a message
Slack accepted whose answer never arrives)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Fault:
    status: int | None = None  # answer this status instead of posting
    retry_after: int | None = None  # with a 429
    delay: float = 0.0  # wait first; a client that gave up meanwhile gets nothing posted
    stall: float = 0.0  # post and record, then wait this long before answering


class FakeSlack:
    """``with FakeSlack(token) as slack:`` -> slack.api_url, slack.webhook_url, slack.messages."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.requests = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api/"
        self.webhook_url = f"http://127.0.0.1:{self.port}/services/T000/B000/fakewebhooksecret"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def __enter__(self) -> FakeSlack:
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, count: int, **fault: Any) -> None:
        """The next ``count`` message requests get this fault (status=, retry_after=, delay=, stall=)."""
        with self._lock:
            self._faults.extend(Fault(**fault) for _ in range(count))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def wait_for_messages(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Slack got {len(self.messages)} messages, expected {count}")
            time.sleep(0.02)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            return self._faults.pop(0) if self._faults else None

    def _record(self, message: dict[str, Any]) -> str:
        with self._lock:
            ts = f"1763600000.{len(self.messages) + 1:06d}"
            self.messages.append({**message, "ts": ts, "received_at": time.monotonic()})
            return ts

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _body(self) -> dict[str, Any]:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    return json.loads(raw or "{}")
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                if isinstance(form.get("blocks"), str):
                    form["blocks"] = json.loads(form["blocks"])
                return form

            def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(body, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _client_gone(self) -> bool:
                try:
                    return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                except BlockingIOError:
                    return False
                except OSError:
                    return True

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self._body()
                webhook = self.path.startswith("/services/")
                if not webhook and self.path != "/api/chat.postMessage":
                    self._answer(404, {"ok": False, "error": "unknown_method"})
                    return
                if not webhook and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(200, {"ok": False, "error": "invalid_auth"})
                    return
                fault = fake._next_fault()
                if fault and fault.delay:
                    time.sleep(fault.delay)
                    if self._client_gone():
                        return
                if fault and fault.status == 429:
                    retry = str(fault.retry_after or 1)
                    self._answer(
                        429,
                        "ratelimited" if webhook else {"ok": False, "error": "ratelimited"},
                        {"Retry-After": retry},
                    )
                    return
                if fault and fault.status:
                    self._answer(fault.status, "Internal Server Error")
                    return
                message = {
                    "channel": "webhook" if webhook else body.get("channel"),
                    "text": body.get("text"),
                    "blocks": body.get("blocks"),
                    "via": "webhook" if webhook else "web",
                    "auth": self.headers.get("Authorization"),
                }
                ts = fake._record(message)
                if fault and fault.stall:
                    time.sleep(fault.stall)
                if webhook:
                    self._answer(200, "ok")
                else:
                    self._answer(
                        200,
                        {
                            "ok": True,
                            "channel": message["channel"],
                            "ts": ts,
                            "message": {"text": message["text"], "ts": ts},
                        },
                    )

        return Handler
