"""Privacy: the access audit (ops.access_log) and GDPR erasure (`gtm forget`, ops.forgotten).

An erased person is known afterwards only by sha256 of the lower-cased, trimmed email: ops.forgotten keeps
that hash so the loaders (gtm/sync.py) and staging (dbt macro `not_forgotten`) drop them on every later sync,
and the access log keeps it in place of the email. docs/privacy.md describes both.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from gtm.errors import GtmError
from gtm.warehouse import Warehouse

ACCESS_LOG_DDL = """
create table if not exists ops.access_log (
    "at" timestamp not null,
    who varchar(200) not null,
    endpoint varchar(500) not null,
    email_key varchar(320),
    status integer not null
)
"""
FORGOTTEN_DDL = """
create table if not exists ops.forgotten (
    email_hash varchar(64) primary key,
    forgotten_at timestamp not null
)
"""
TEXT_TYPES = ("varchar", "text", "character varying", "character", "json", "jsonb")
REDACTED_PAYLOAD = json.dumps(
    {"channel": "", "text": "[redacted: the person was erased with gtm forget]", "blocks": []}
)


def email_key(email: str) -> str:
    """The warehouse's key of an email: trimmed, lower case (as staging computes it)."""
    key = email.strip().lower()
    if "@" not in key or len(key) > 320:
        raise GtmError(f"{email.strip()!r} is not an email address")
    return key


def email_hash(key: str) -> str:
    """sha256 of an email key, lower-case hex: what ops.forgotten and an erased person's audit rows hold."""
    return hashlib.sha256(key.encode()).hexdigest()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ensure_ops_tables(warehouse: Warehouse) -> None:
    warehouse.execute("create schema if not exists ops")
    warehouse.execute(ACCESS_LOG_DDL)
    warehouse.execute(FORGOTTEN_DDL)


def record_access(
    warehouse: Warehouse, who: str, endpoint: str, email_keys: Sequence[str | None], status: int
) -> None:
    """One ops.access_log row per customer viewed (one row with no email_key when none was)."""
    ensure_ops_tables(warehouse)
    at = utc_now()
    keys = list(email_keys) or [None]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params: list[Any] = []
        for key in chunk:
            params.extend((at, who, endpoint[:500], key, status))
        warehouse.execute(f"insert into ops.access_log values {values}", params)
    warehouse.commit()


def access_rows(warehouse: Warehouse, email: str | None, since: date | None) -> list[dict[str, Any]]:
    """ops.access_log, newest first; with `email`, that person's rows (also after an erasure, by hash)."""
    if not warehouse.table_exists("ops", "access_log"):
        return []
    where, params = [], []
    if email:
        key = email_key(email)
        where.append("email_key in (%s, %s)")
        params.extend((key, f"sha256:{email_hash(key)}"))
    if since:
        where.append('"at" >= %s')
        params.append(datetime.combine(since, datetime.min.time()))
    clause = f" where {' and '.join(where)}" if where else ""
    return warehouse.query(
        f'select "at", who, endpoint, email_key, status from ops.access_log{clause} order by "at" desc',
        params,
    )


@dataclass
class Erasure:
    """What `gtm forget` removed: rows per table, and the alert rows whose text was redacted."""

    email_hash: str
    removed: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, rows: int) -> None:
        if rows:
            self.removed[table] = self.removed.get(table, 0) + rows

    def line(self) -> str:
        tables = ", ".join(f"{table} {rows:,}" for table, rows in sorted(self.removed.items()))
        return f"forgot sha256:{self.email_hash[:12]}…: {tables or 'no rows held the person'}"


def _raw_tables(warehouse: Warehouse) -> list[tuple[str, str]]:
    """The tables of every raw_<source> dataset, without dlt's own (_dlt_loads, ...)."""
    rows = warehouse.query(
        "select table_schema, table_name from information_schema.tables"
        " where substr(table_schema, 1, 4) = 'raw_' and table_type = 'BASE TABLE'"
        " and substr(table_name, 1, 4) <> '_dlt' order by table_schema, table_name"
    )
    return [(row["table_schema"], row["table_name"]) for row in rows]


def _columns(warehouse: Warehouse, schema: str, table: str) -> dict[str, str]:
    rows = warehouse.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s",
        (schema, table),
    )
    return {row["column_name"]: row["data_type"].lower() for row in rows}


def _quoted(schema: str, table: str) -> str:
    return f'"{schema}"."{table}"'


def _in_list(values: Iterable[str]) -> tuple[str, list[str]]:
    items = sorted(set(values))
    return ", ".join(["%s"] * len(items)), items


def _text_condition(columns: dict[str, str]) -> str:
    """Any text column contains the parameter (strpos: no LIKE wildcards, '_' is common in emails)."""
    texts = [name for name, kind in columns.items() if kind.startswith(TEXT_TYPES)]
    return " or ".join(f'strpos(lower(cast("{name}" as varchar)), %s) > 0' for name in texts)


def _delete_matching(
    warehouse: Warehouse, schema: str, table: str, key: str
) -> tuple[int, set[str], set[str]]:
    """Delete the rows of one table with the email in any text column (any case, inside JSON text too);
    return how many, and their _dlt_id and id values (to follow child and referencing rows)."""
    condition = _text_condition(_columns(warehouse, schema, table))
    if not condition:
        return 0, set(), set()
    params = [key] * condition.count("%s")
    found = warehouse.query(f"select * from {_quoted(schema, table)} where {condition}", params)
    if found:
        warehouse.execute(f"delete from {_quoted(schema, table)} where {condition}", params)
    dlt_ids = {str(row["_dlt_id"]) for row in found if row.get("_dlt_id") is not None}
    ids = {str(row["id"]) for row in found if row.get("id") is not None}
    return len(found), dlt_ids, ids


def _delete_in(warehouse: Warehouse, schema: str, table: str, column: str, values: set[str]) -> set[str]:
    """Delete rows whose `column` is one of `values`; return their _dlt_id values."""
    if not values:
        return set()
    placeholders, params = _in_list(values)
    where = f'cast("{column}" as varchar) in ({placeholders})'
    found = warehouse.query(f'select "_dlt_id" from {_quoted(schema, table)} where {where}', params)
    if found:
        warehouse.execute(f"delete from {_quoted(schema, table)} where {where}", params)
    return {str(row["_dlt_id"]) for row in found}


def erase_raw(warehouse: Warehouse, key: str, erasure: Erasure) -> None:
    """Every raw_<source> dataset: the rows naming the email (quarantine included), their child tables
    (by _dlt_root_id / _dlt_parent_id) and the child rows referring to the person's record id."""
    by_schema: dict[str, list[str]] = {}
    for schema, table in _raw_tables(warehouse):
        by_schema.setdefault(schema, []).append(table)
    for schema, tables in by_schema.items():
        removed_dlt_ids: set[str] = set()
        removed_ids: set[str] = set()
        for table in tables:
            count, dlt_ids, ids = _delete_matching(warehouse, schema, table, key)
            erasure.add(f"{schema}.{table}", count)
            removed_dlt_ids |= dlt_ids
            removed_ids |= ids
        children = [table for table in tables if "__" in table]
        frontier = set(removed_dlt_ids)
        while frontier:  # nested lists: each level's _dlt_parent_id is the level above's _dlt_id
            next_frontier: set[str] = set()
            for table in children:
                columns = _columns(warehouse, schema, table)
                for column in ("_dlt_root_id", "_dlt_parent_id"):
                    if column in columns:
                        gone = _delete_in(warehouse, schema, table, column, frontier)
                        erasure.add(f"{schema}.{table}", len(gone))
                        next_frontier |= gone
            frontier = next_frontier
        for table in children:  # e.g. a conversation's contacts list holding the person's contact id
            if {"id", "_dlt_id"} <= set(_columns(warehouse, schema, table)):
                erasure.add(f"{schema}.{table}", len(_delete_in(warehouse, schema, table, "id", removed_ids)))


def forget(warehouse: Warehouse, email: str, who: str) -> Erasure:
    """Erase one person from the raw datasets, the health history, quarantine and alert history; record the
    hash in ops.forgotten and an audit row. The caller commits and rebuilds the models."""
    key = email_key(email)
    erasure = Erasure(email_hash(key))
    ensure_ops_tables(warehouse)
    erase_raw(warehouse, key, erasure)
    for schema, table in (("marts", "customer_health_history"), ("audit", "quarantined_records")):
        if warehouse.table_exists(schema, table):
            count, _, _ = _delete_matching(warehouse, schema, table, key)
            erasure.add(f"{schema}.{table}", count)
    hashed = f"sha256:{erasure.email_hash}"
    if warehouse.table_exists("ops", "alert_history"):
        condition = "email_key = %s or strpos(lower(payload), %s) > 0 or strpos(lower(dedupe_key), %s) > 0"
        params = [key, key, key]
        count = warehouse.query(f"select count(*) as n from ops.alert_history where {condition}", params)
        warehouse.execute(
            "update ops.alert_history set email_key = %s, payload = %s,"
            f" dedupe_key = replace(lower(dedupe_key), %s, %s) where {condition}",
            [hashed, REDACTED_PAYLOAD, key, hashed, *params],
        )
        erasure.add("ops.alert_history (redacted)", int(count[0]["n"]))
    warehouse.execute("update ops.access_log set email_key = %s where email_key = %s", (hashed, key))
    if not warehouse.query("select 1 from ops.forgotten where email_hash = %s", (erasure.email_hash,)):
        warehouse.execute("insert into ops.forgotten values (%s, %s)", (erasure.email_hash, utc_now()))
    warehouse.execute(
        "insert into ops.access_log values (%s, %s, %s, %s, %s)", (utc_now(), who, "gtm forget", hashed, 200)
    )
    return erasure


def unforget(warehouse: Warehouse, email: str, who: str) -> bool:
    """Re-consent: remove the person's hash from ops.forgotten (True when it was there) and audit it."""
    key = email_key(email)
    digest = email_hash(key)
    ensure_ops_tables(warehouse)
    present = bool(warehouse.query("select 1 from ops.forgotten where email_hash = %s", (digest,)))
    warehouse.execute("delete from ops.forgotten where email_hash = %s", (digest,))
    warehouse.execute(
        "insert into ops.access_log values (%s, %s, %s, %s, %s)",
        (utc_now(), who, "gtm forget --undo", f"sha256:{digest}", 200),
    )
    return present


def forgotten_hashes(warehouse: Warehouse) -> frozenset[str]:
    if not warehouse.table_exists("ops", "forgotten"):
        return frozenset()
    return frozenset(row["email_hash"] for row in warehouse.query("select email_hash from ops.forgotten"))


def mentions_forgotten(item: Any, hashes: frozenset[str]) -> bool:
    """True when any text in a loader record (nested dicts and lists, JSON text included) is an email whose
    hash is in `hashes`."""
    if isinstance(item, str):
        if "@" not in item:
            return False
        if email_hash(item.strip().lower()) in hashes:
            return True
        if item.lstrip().startswith(("{", "[")):
            try:
                return mentions_forgotten(json.loads(item), hashes)
            except ValueError:
                return False
        return False
    if isinstance(item, dict):
        return any(mentions_forgotten(value, hashes) for value in item.values())
    if isinstance(item, list | tuple):
        return any(mentions_forgotten(value, hashes) for value in item)
    data = getattr(item, "data", None)  # dlt's DataItemWithMeta (quarantine rows)
    return data is not None and mentions_forgotten(data, hashes)


def audit_cli(settings: Any, endpoint: str, email_keys: Sequence[str | None], status: int = 200) -> None:
    """The access-log rows of a command run by a person (who: the OS user)."""
    from gtm.warehouse import connect

    with connect(settings) as warehouse:
        record_access(warehouse, os_user(), endpoint, email_keys, status)
