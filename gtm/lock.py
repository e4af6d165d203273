"""One run at a time per warehouse: sync, build, run, backfill (and the API's sync) take this lock.

DuckDB: an exclusive ``flock`` on a file beside the warehouse file, holding a line of JSON that names the
holder. PostgreSQL: a session advisory lock on a dedicated connection whose ``application_name`` names the
holder. Both are released by the operating system or the server when the holder dies, so the lock of a
killed process is taken over by the next run without anyone deleting a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gtm.errors import GtmError
from gtm.settings import Settings

# The advisory lock key: advisory locks are scoped to the database, so one constant is one lock per warehouse.
ADVISORY_KEY = 0x67746D5F72756E  # "gtm_run"
APPLICATION_PREFIX = "gtm-lock"
POLL_SECONDS = 0.2

# Held locks of this process, per (warehouse, thread): a command that holds the lock (``gtm run``) calls
# code that takes it again (sync, then build) without waiting on itself.
_held: dict[tuple[str, int], int] = {}
_held_guard = threading.Lock()


def lock_path(settings: Settings) -> Path:
    """The lock file beside the DuckDB file."""
    return settings.duckdb_path.parent / f".{settings.duckdb_path.name}.lock"


def _identity(settings: Settings) -> str:
    return str(lock_path(settings)) if settings.warehouse == "duckdb" else str(settings.pipelines_dir)


def _holder_now(command: str) -> dict[str, Any]:
    return {
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }


def describe_holder(holder: dict[str, Any] | None) -> str:
    """One line naming the holder of the warehouse lock."""
    if not holder:
        return "another gtm run holds the warehouse lock"
    return (
        f"another gtm run holds the warehouse lock: gtm {holder.get('command') or '?'} "
        f"(pid {holder.get('pid') or '?'} on {holder.get('host') or '?'}, since {holder.get('since') or '?'})"
    )


def _refused(holder: dict[str, Any] | None, wait: float) -> GtmError:
    waited = f" after waiting {wait:g}s" if wait > 0 else ""
    return GtmError(f"{describe_holder(holder)}{waited}; try again later or pass --wait SECONDS")


def _wait_loop(try_once: Any, wait: float) -> bool:
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        if try_once():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.01)))


# DuckDB: a file lock.


def _read_file_holder(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    try:
        holder = json.loads(text) if text else None
    except ValueError:
        return None
    return holder if isinstance(holder, dict) else None


@contextmanager
def _file_lock(settings: Settings, command: str, wait: float) -> Iterator[None]:
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def try_once() -> bool:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not _wait_loop(try_once, wait):
            raise _refused(_read_file_holder(path), wait)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(_holder_now(command)) + "\n").encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _file_holder(settings: Settings) -> dict[str, Any] | None:
    path = lock_path(settings)
    if not path.exists():
        return None
    descriptor = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_file_holder(path) or {}
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)


# PostgreSQL: a session advisory lock on a dedicated connection.


def _application_name(holder: dict[str, Any]) -> str:
    since = int(datetime.fromisoformat(holder["since"]).timestamp())
    # PostgreSQL keeps 63 bytes of it: the host goes last, so only the host can be cut.
    return f"{APPLICATION_PREFIX}:{holder['command']}:{holder['pid']}:{since}:{holder['host']}"[:63]


def _parse_application_name(name: str) -> dict[str, Any]:
    parts = name.split(":", 4)
    if len(parts) < 5 or parts[0] != APPLICATION_PREFIX:
        return {}
    _, command, pid, since, host = parts
    try:
        when = datetime.fromtimestamp(int(since), timezone.utc).isoformat()
    except ValueError:
        when = since
    return {"command": command, "pid": int(pid) if pid.isdigit() else pid, "host": host, "since": when}


def _pg_connect(settings: Settings, application_name: str | None = None) -> Any:
    import psycopg2

    from gtm.warehouse import postgres_connect_kwargs

    try:
        connection = psycopg2.connect(
            **postgres_connect_kwargs(settings),
            connect_timeout=10,
            application_name=application_name or "gtm",
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GtmError(f"cannot connect to PostgreSQL (DATABASE_URL): {first}") from None
    connection.autocommit = True
    return connection


HOLDER_SQL = """
select activity.application_name
from pg_locks as locks
inner join pg_stat_activity as activity on locks.pid = activity.pid
where locks.locktype = 'advisory' and locks.granted
    and locks.database = (select oid from pg_database where datname = current_database())
    and locks.classid = %s and locks.objid = %s and locks.objsubid = 1
"""


def _pg_holder(connection: Any) -> dict[str, Any] | None:
    high, low = (ADVISORY_KEY >> 32) & 0xFFFFFFFF, ADVISORY_KEY & 0xFFFFFFFF
    with connection.cursor() as cursor:
        cursor.execute(HOLDER_SQL, (high, low))
        row = cursor.fetchone()
    return None if row is None else _parse_application_name(row[0] or "")


@contextmanager
def _advisory_lock(settings: Settings, command: str, wait: float) -> Iterator[None]:
    connection = _pg_connect(settings, _application_name(_holder_now(command)))
    try:

        def try_once() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", (ADVISORY_KEY,))
                return bool(cursor.fetchone()[0])

        if not _wait_loop(try_once, wait):
            raise _refused(_pg_holder(connection), wait)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("select pg_advisory_unlock(%s)", (ADVISORY_KEY,))
    finally:
        connection.close()


@contextmanager
def run_lock(settings: Settings, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's exclusive run lock for the block.

    Raises GtmError with one line naming the holder (command, pid, host, since) when the lock is not free
    within ``wait`` seconds. Reentrant within one thread of one process.
    """
    key = (_identity(settings), threading.get_ident())
    with _held_guard:
        nested = key in _held
        if nested:
            _held[key] += 1
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    lock = _file_lock if settings.warehouse == "duckdb" else _advisory_lock
    with lock(settings, command, wait):
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]


def lock_holder(settings: Settings) -> dict[str, Any] | None:
    """Who holds the warehouse's run lock ({command, pid, host, since}), or None when it is free."""
    if settings.warehouse == "duckdb":
        return _file_holder(settings)
    connection = _pg_connect(settings)
    try:
        return _pg_holder(connection)
    finally:
        connection.close()
