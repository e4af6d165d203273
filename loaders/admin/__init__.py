"""Product database source: the customer's own admin database (accounts, users, logins, credits, exports,
seats), read with dlt's `sql_database` source.

Each role of the mapping (loaders/admin/settings.py, overridable in `.dlt/config.toml`) is one table read
incrementally on its cursor column (a commit or update time) with a lag, so rows that commit late are read
on the next sync, and merged on its key under canonical column names. At most every `key_scan_hours` a key
scan reads every key of every table into `<role>__keys`; staging drops rows whose key the latest scan did
not see (deleted at the source). See README.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import sqlalchemy as sa
from dlt.sources.sql_database import sql_table

from loaders.admin.helpers import key_scan_due, renamer, resolve_mapping
from loaders.admin.settings import BACKEND, CHUNK_SIZE, KEY_SCAN_HOURS, KEYS_SUFFIX, LAG_SECONDS

SOURCE = "admin"


def make_engine(credentials: str) -> sa.Engine:
    """A SQLAlchemy engine for the product database; a SQLite URL must name an existing file."""
    url = sa.engine.make_url(credentials)
    is_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if is_file and not Path(str(url.database)).is_file():
        raise ValueError(f"no SQLite database at {url.database} (check SOURCES__ADMIN__CREDENTIALS)")
    return sa.create_engine(url)


def _since(column: str, start: datetime | None, lag_seconds: float) -> Any:
    """A query adapter: only rows whose cursor column is at least `start` less the lag (all when None)."""
    if start is None:
        return lambda query, table: query
    if start.tzinfo is not None:  # the product database keeps naive UTC timestamps
        start = start.astimezone(timezone.utc).replace(tzinfo=None)
    bound = start - timedelta(seconds=lag_seconds)
    return lambda query, table: query.where(table.c[column] >= bound)


def _table_resource(
    role: str, spec: Mapping[str, Any], engine: sa.Engine, backend: str, chunk_size: int, lag_seconds: float
) -> Any:
    columns = spec["columns"]
    rename = renamer(columns)

    @dlt.resource(name=role, primary_key=spec["key"], write_disposition="merge")
    def rows(
        cursor: dlt.sources.incremental[Any] = dlt.sources.incremental(
            spec["cursor"], lag=lag_seconds, primary_key=(), on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        # The database filters on the source's cursor column; the rows come back under canonical names, so
        # the table's hints (key, columns) are the canonical ones whatever the source calls them.
        source_rows = sql_table(
            credentials=engine,
            table=spec["table"],
            included_columns=list(columns.values()),
            backend=backend,
            chunk_size=chunk_size,
            reflection_level="minimal",
            query_adapter_callback=_since(columns[spec["cursor"]], cursor.last_value, lag_seconds),
        )
        for batch in source_rows:
            yield rename(batch)

    return rows


def _key_resource(
    role: str, spec: Mapping[str, Any], engine: sa.Engine, backend: str, chunk_size: int, every_hours: float
) -> Any:
    key = spec["key"]
    rename = renamer({key: spec["columns"][key]})

    @dlt.resource(
        name=f"{role}{KEYS_SUFFIX}",
        primary_key=key,
        write_disposition="merge",
        columns={"scanned_at": {"data_type": "timestamp", "nullable": False}},
    )
    def keys() -> Iterator[Any]:
        state = dlt.current.resource_state()
        now = time.time()
        if not key_scan_due(state.get("scanned_at"), now, every_hours):
            return
        scanned_at = datetime.fromtimestamp(now, timezone.utc)
        scan = sql_table(
            credentials=engine,
            table=spec["table"],
            included_columns=[spec["columns"][key]],
            backend="pyarrow",
            chunk_size=max(chunk_size, 100_000),
            reflection_level="minimal",
        )
        for batch in scan:
            batch = rename(batch)
            stamp = pa.array([scanned_at] * batch.num_rows, pa.timestamp("us", tz="UTC"))
            yield batch.append_column("scanned_at", stamp)
        state["scanned_at"] = now

    return keys


@dlt.source(name=SOURCE)
def admin_source(
    credentials: str = dlt.secrets.value,
    tables: dict[str, Any] | None = None,
    backend: str = BACKEND,
    chunk_size: int = CHUNK_SIZE,
    lag_seconds: float = LAG_SECONDS,
    key_scan_hours: float = KEY_SCAN_HOURS,
) -> Any:
    """The product database's tables, incrementally, with a periodic key scan for deletes.

    Args:
        credentials: SQLAlchemy URL of the product database (``SOURCES__ADMIN__CREDENTIALS``), e.g.
            ``postgresql://reader:...@db/app`` or ``sqlite:///data/product.sqlite`` (read-only is enough).
        tables: per role, the source table and columns (``[sources.admin.tables.<role>]``); defaults fit the
            sandbox's schema (settings.DEFAULT_TABLES).
        backend: ``pyarrow`` (default), ``connectorx`` or ``sqlalchemy``.
        chunk_size: rows per batch read from the database.
        lag_seconds: re-read rows whose cursor is this much older than the newest loaded (late commits).
        key_scan_hours: how often every key is read to find deleted rows (0: every sync).
    """
    engine = make_engine(str(credentials))
    mapping = resolve_mapping(tables)
    resources = []
    for role, spec in mapping.items():
        resources.append(_table_resource(role, spec, engine, backend, chunk_size, lag_seconds))
        resources.append(_key_resource(role, spec, engine, backend, chunk_size, key_scan_hours))
    return resources
