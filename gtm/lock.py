"""One run at a time per warehouse: a sync, a build or the API's sync job takes this lock.

DuckDB: an exclusive ``flock`` on a file beside the warehouse file, holding a line of JSON naming the holder.
PostgreSQL: a session advisory lock on a dedicated connection whose ``application_name`` names the holder.
Both are released by the operating system or the server when the holder dies.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gtm.errors import GtmError
from gtm.settings import Settings

ADVISORY_KEY = 0x67746D5F72756E  # "gtm_run"
APPLICATION_PREFIX = "gtm-lock"
POLL_SECONDS = 0.2


def lock_path(settings: Settings) -> Path:
    return settings.duckdb_path.parent / f".{settings.duckdb_path.name}.lock"


def _holder_now(command: str) -> dict[str, Any]:
    return {
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }


def _refused(holder: dict[str, Any] | None) -> GtmError:
    who = (
        f"gtm {holder.get('command', '?')} (pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"
        if holder
        else "another gtm run"
    )
    return GtmError(f"the warehouse is busy: {who} holds the run lock; try again when it has finished")


def _poll(try_once: Any, wait: float) -> bool:
    deadline = time.monotonic() + max(wait, 0.0)
    while not try_once():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        holder = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
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

        if not _poll(try_once, wait):
            raise _refused(_read_holder(path))
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(_holder_now(command)).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _pg_connect(settings: Settings, application_name: str = "gtm") -> Any:
    import psycopg2

    try:
        connection = psycopg2.connect(
            settings.database_url, connect_timeout=10, application_name=application_name
        )
    except psycopg2.OperationalError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise GtmError(f"cannot connect to PostgreSQL (DATABASE_URL): {first}") from None
    connection.autocommit = True
    return connection


def _pg_holder(connection: Any) -> dict[str, Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "select activity.application_name from pg_locks as locks"
            " inner join pg_stat_activity as activity on locks.pid = activity.pid"
            " where locks.locktype = 'advisory' and locks.granted"
            " and locks.database = (select oid from pg_database where datname = current_database())"
            " and locks.classid = %s and locks.objid = %s and locks.objsubid = 1",
            ((ADVISORY_KEY >> 32) & 0xFFFFFFFF, ADVISORY_KEY & 0xFFFFFFFF),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    parts = (row[0] or "").split(":", 3)
    if len(parts) < 4 or parts[0] != APPLICATION_PREFIX:
        return {}
    return {"command": parts[1], "pid": int(parts[2]), "since": parts[3]}


@contextmanager
def _advisory_lock(settings: Settings, command: str, wait: float) -> Iterator[None]:
    holder = _holder_now(command)
    name = f"{APPLICATION_PREFIX}:{command}:{holder['pid']}:{holder['since']}"[:63]
    connection = _pg_connect(settings, name)
    try:

        def try_once() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", (ADVISORY_KEY,))
                return bool(cursor.fetchone()[0])

        if not _poll(try_once, wait):
            raise _refused(_pg_holder(connection))
        yield
    finally:
        connection.close()  # ends the session, which releases the advisory lock


@contextmanager
def run_lock(settings: Settings, command: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; GtmError (one line naming the holder) when it is taken
    and not freed within ``wait`` seconds."""
    lock = _file_lock if settings.warehouse == "duckdb" else _advisory_lock
    with lock(settings, command, wait):
        yield


def lock_holder(settings: Settings) -> dict[str, Any] | None:
    """Who holds the run lock ({command, pid, since}), or None when it is free."""
    if settings.warehouse == "duckdb":
        path = lock_path(settings)
        if not path.exists():
            return None
        descriptor = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(path) or {}
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            return None
        finally:
            os.close(descriptor)
    connection = _pg_connect(settings)
    try:
        return _pg_holder(connection)
    finally:
        connection.close()
