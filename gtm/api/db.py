"""The API's way into the warehouse: DuckDB opened read-only per request, PostgreSQL through a pool.

DuckDB allows one writing process, and within one process all connections to a file share one
configuration, so this process never has a read-only and a writing connection open at once: reads share a
readers-writer lock, and the short writes of the access log (and the API's own sync job) take it alone.
While a writer holds the file (a `gtm build` elsewhere, or the sync job here) reads answer 503 with
Retry-After.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gtm.api.errors import busy
from gtm.errors import GtmError
from gtm.privacy import record_access
from gtm.settings import Settings
from gtm.warehouse import Warehouse

log = logging.getLogger("gtm.api")
POOL_SIZE = 20  # PostgreSQL connections of one `gtm serve` (GTM_API_POOL_SIZE)
POOL_WAIT_SECONDS = 10.0  # a request waits this long for a free PostgreSQL connection, then answers 503


def pool_size() -> int:
    text = os.environ.get("GTM_API_POOL_SIZE", "").strip()
    if not text:
        return POOL_SIZE
    if not text.isdigit() or int(text) < 1:
        raise GtmError(f"GTM_API_POOL_SIZE={text!r} is not a whole number of connections (1 or more)")
    return int(text)


class ReadersWriter:
    """Many readers or one writer. `exclusive` marks a long writer (the sync job): readers then fail fast."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writers_waiting = 0  # readers let a waiting writer go first, so writes never starve
        self._writing = False
        self.exclusive = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._writers_waiting:
                if self.exclusive:
                    raise busy("a sync and build started by this API is writing the warehouse")
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextmanager
    def write(self, exclusive: bool = False) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._condition.wait()
            self._writers_waiting -= 1
            self._writing, self.exclusive = True, exclusive
        try:
            yield
        finally:
            with self._condition:
                self._writing, self.exclusive = False, False
                self._condition.notify_all()


class Access:
    """Read connections per request and the access-log writes, for one warehouse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = ReadersWriter()
        self._pool: Any = None
        self.pool_size = pool_size()
        # psycopg2's pool raises when all its connections are out; requests queue here for one instead
        self._slots = threading.BoundedSemaphore(self.pool_size)
        self._unwritten: list[tuple[str, str, Sequence[str | None], int]] = []
        self._audit_guard = threading.Lock()  # the list of waiting rows
        self._flush_guard = threading.Lock()  # one flush at a time
        if settings.warehouse == "postgres":
            from psycopg2.pool import ThreadedConnectionPool

            try:
                self._pool = ThreadedConnectionPool(
                    1, self.pool_size, settings.database_url, connect_timeout=10
                )
            except Exception as exc:  # noqa: BLE001 - one line, no password
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise GtmError(f"cannot connect to PostgreSQL (DATABASE_URL): {first}") from None

    def close(self) -> None:
        self.flush()
        if self._pool is not None:
            self._pool.closeall()

    def _duckdb(self, read_only: bool) -> Any:
        import duckdb

        path = self.settings.duckdb_path
        if not path.exists():
            raise GtmError(f"no warehouse at {path} yet: run `gtm sync` and `gtm build` first")
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if "lock" in str(exc).lower() or "configuration" in str(exc).lower():
                raise busy(
                    "another process is writing the warehouse (a sync or build); retry shortly"
                ) from None
            raise

    @contextmanager
    def reader(self) -> Iterator[Warehouse]:
        """A read-only warehouse for one request."""
        if self._pool is None:
            with self.lock.read():
                connection = self._duckdb(read_only=True)
                try:
                    yield Warehouse(self.settings, connection)
                finally:
                    connection.close()
            return
        with self._pooled() as connection:
            connection.set_session(readonly=True, autocommit=True)
            yield Warehouse(self.settings, connection)

    @contextmanager
    def _pooled(self) -> Iterator[Any]:
        """A PostgreSQL connection of the pool, waiting up to POOL_WAIT_SECONDS for one to come back."""
        if not self._slots.acquire(timeout=POOL_WAIT_SECONDS):
            raise busy(f"all {self.pool_size} warehouse connections are in use; retry shortly")
        try:
            connection = self._pool.getconn()
            try:
                yield connection
            finally:
                self._pool.putconn(connection)
        finally:
            self._slots.release()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """For the API's own sync job: on DuckDB no request of this process touches the file meanwhile
        (reads answer 503); PostgreSQL needs nothing."""
        if self._pool is not None:
            yield
            return
        with self.lock.write(exclusive=True):
            yield

    @contextmanager
    def writer(self) -> Iterator[Warehouse | None]:
        """A writing warehouse (PostgreSQL: from the pool; DuckDB: opened alone, None when the file is
        held by another process)."""
        if self._pool is not None:
            with self._pooled() as connection:
                try:
                    connection.set_session(readonly=False, autocommit=False)
                    yield Warehouse(self.settings, connection)
                finally:
                    connection.rollback()
            return
        with self.lock.write():
            try:
                connection = self._duckdb(read_only=False)
            except Exception:  # noqa: BLE001 - held elsewhere: the caller keeps its rows for later
                yield None
                return
            try:
                yield Warehouse(self.settings, connection)
            finally:
                connection.close()

    def audit(self, who: str, endpoint: str, email_keys: Sequence[str | None], status: int) -> None:
        """Write ops.access_log rows before the answer goes out. When another process holds the DuckDB file
        they wait in memory for the next request's write (or the server's shutdown): none is lost while the
        server runs."""
        with self._audit_guard:
            self._unwritten.append((who, endpoint, list(email_keys), status))
        self.flush()

    def flush(self) -> None:
        """Write the waiting access-log rows; those that cannot be written now stay for the next flush."""
        with self._flush_guard:
            with self._audit_guard:
                batch, self._unwritten = self._unwritten, []
            written = 0
            try:
                if batch:
                    with self.writer() as warehouse:
                        for who, endpoint, keys, status in batch if warehouse is not None else ():
                            record_access(warehouse, who, endpoint, keys, status)
                            written += 1
            finally:
                if written < len(batch):
                    with self._audit_guard:
                        self._unwritten[:0] = batch[written:]
                    log.warning("access log: %d request(s) waiting for the warehouse", len(batch) - written)
