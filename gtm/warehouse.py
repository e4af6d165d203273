"""A small DB-API layer over the two warehouses, for the Python parts (reports, sync log, alerts)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from gtm.errors import GtmError
from gtm.settings import Settings


class Warehouse:
    """One open connection to the configured warehouse. Use ``with connect(settings) as wh:``."""

    def __init__(self, settings: Settings, connection: Any) -> None:
        self.settings = settings
        self.connection = connection
        self.kind = settings.warehouse

    def _sql(self, sql: str) -> str:
        # One placeholder style for callers (%s); DuckDB wants ?.
        return sql.replace("%s", "?") if self.kind == "duckdb" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
        finally:
            cursor.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            names = [column[0] for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def commit(self) -> None:
        self.connection.commit()

    def table_exists(self, schema: str, table: str) -> bool:
        rows = self.query(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
            (schema, table),
        )
        return bool(rows)


def _duckdb_connection(settings: Settings, read_only: bool) -> Any:
    import duckdb

    path = settings.duckdb_path
    if read_only and not path.exists():
        raise GtmError(f"no warehouse at {path} yet: run `gtm sync` and `gtm build` (or `make demo`) first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise duckdb_lock_error(path, exc) from None


def duckdb_lock_error(path: Any, exc: BaseException) -> GtmError:
    """The one-line message for a DuckDB file that another process holds."""
    message = str(exc)
    if "lock" not in message.lower():
        return GtmError(f"cannot open DuckDB file {path}: {message.splitlines()[0]}")
    pid = re.search(r"PID (\d+)", message)
    holder = f" (PID {pid.group(1)})" if pid else ""
    return GtmError(
        f"DuckDB file {path} is locked by another process{holder}; DuckDB allows one writer, "
        "so run sync, build and alerts one after another"
    )


def postgres_connect_kwargs(settings: Settings) -> dict[str, Any]:
    """psycopg2.connect keywords from DATABASE_URL: the decoded parameters plus the URL's query options."""
    return {**settings.postgres, **dict(parse_qsl(urlsplit(settings.database_url or "").query))}


def _postgres_connection(settings: Settings) -> Any:
    import psycopg2

    try:
        connection = psycopg2.connect(**postgres_connect_kwargs(settings), connect_timeout=10)
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GtmError(f"cannot connect to PostgreSQL (DATABASE_URL): {first}") from None
    connection.autocommit = False
    return connection


@contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[Warehouse]:
    """Open the configured warehouse; committed and closed on exit."""
    if settings.warehouse == "duckdb":
        connection = _duckdb_connection(settings, read_only)
    else:
        connection = _postgres_connection(settings)
    warehouse = Warehouse(settings, connection)
    try:
        yield warehouse
        if not read_only:
            connection.commit()
    finally:
        connection.close()


def check_writable(settings: Settings) -> None:
    """Fail early, with the one-line message, when the warehouse cannot be opened for writing."""
    with connect(settings):
        pass
