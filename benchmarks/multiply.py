"""Make a large DuckDB warehouse quickly: copy the raw tables of a synced one N times with SQL.

Syncing 1,000,000 customers from the sandbox takes hours (Calendly alone costs one request per event), so
the scale benchmarks sync a small warehouse once and multiply its raw_<source> tables: copy k of every row
gets its keys suffixed (ids, dlt row ids, parent ids, URIs; numeric ids of the product database shifted
by k * 10^12) and the customer's emails prefixed with `k.`, so every copy is a distinct customer that still
matches across Intercom, HubSpot, Calendly, Stripe, ChartMogul and the product sources (the product
database, Userflow, Fathom), with the same billing history. Account managers, admins and hosts stay shared,
as in a real workspace. The same SQL runs on a DuckDB file or a PostgreSQL database (`multiply_postgres`).
Usage:

    python benchmarks/multiply.py --source data/gtm.duckdb --target /tmp/big.duckdb --factor 50
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

SCHEMAS = (
    "raw_intercom",
    "raw_hubspot",
    "raw_calendly",
    "raw_stripe",
    "raw_chartmogul",
    "raw_admin",
    "raw_userflow",
    "raw_fathom",
)
# who works at the vendor, not a customer: the same in every copy (Stripe's price and coupon catalog too)
SHARED_TABLES = {"owners", "owners__teams", "conversations__teammates__admins", "_dlt_loads", "_dlt_version"}
SHARED_TABLES |= {"_dlt_pipeline_state", "prices", "coupons"}
KEY_COLUMNS = {
    "id",
    "external_id",
    "uri",
    "event",
    "_dlt_id",
    "_dlt_parent_id",
    "_dlt_root_id",
    "quarantine_id",
    "record_id",
    "value",
    "source__id",
    "source__author__id",
    "conversation_rating__contact__id",
    "custom_attributes__stripe_id",
    "properties__hs_object_id",
    "properties__associatedcompanyid",
    "properties__hs_merged_object_ids",
    "old_invitee",
    "new_invitee",
    "no_show__uri",
    "user_id",  # Userflow's content sessions name their user by its (string) id
    # Stripe and ChartMogul: the objects' ids and the references between them (the ChartMogul customer's
    # external_id and Intercom's stripe_id are the Stripe customer id, suffixed alike)
    "customer",
    "subscription",
    "invoice",
    "charge",
    "data__object__id",
    "discount__id",
    "uuid",
    "customer_uuid",
    "customer_external_id",
}
# the product database's integer keys (its own ids, not a vendor's strings)
NUMERIC_KEY_COLUMNS = {"account_id", "user_id", "login_id", "transaction_id", "export_id", "recording_id"}
NUMERIC_SHIFT = 10**12
EMAIL_COLUMNS = {"email", "properties__email", "source__author__email", "attributes__email"}
TEXT_TYPES = {"VARCHAR", "TEXT", "CHARACTER VARYING"}


def copy_expression(column: str, data_type: str, postgres: bool = False) -> str:
    quoted = f'"{column}"'
    if data_type.upper() == "BIGINT" and column in NUMERIC_KEY_COLUMNS:
        return f"{quoted} + copy * {NUMERIC_SHIFT}"
    if data_type.upper() not in TEXT_TYPES:
        return quoted
    if column in EMAIL_COLUMNS:
        return f"case when {quoted} is null then null else copy || '.' || {quoted} end"
    if column in KEY_COLUMNS:
        # digits stay digits (HubSpot ids are numeric strings), anything else gets a suffix
        digits = f"{quoted} ~ '^[0-9]+$'" if postgres else f"regexp_full_match({quoted}, '[0-9]+')"
        return (
            f"case when {quoted} is null then null when {digits} "
            f"then '9' || lpad(copy::varchar, 4, '0') || {quoted} else {quoted} || '-x' || copy::varchar end"
        )
    return quoted


def _multiply(
    execute: Callable[[str, list | None], list[tuple]], factor: int, postgres: bool
) -> dict[str, int]:
    rows: dict[str, int] = {}
    placeholder = "%s" if postgres else "?"
    copies = f"generate_series(1, {factor - 1})" if postgres else f"range(1, {factor})"
    schemas = ", ".join(f"'{schema}'" for schema in SCHEMAS)
    tables = execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in ({schemas}) and table_type = 'BASE TABLE' order by 1, 2",
        None,
    )
    for schema, table in tables:
        if table in SHARED_TABLES or table.startswith("_dlt"):
            continue
        columns = execute(
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = {placeholder} and table_name = {placeholder} order by ordinal_position",
            [schema, table],
        )
        names = ", ".join(f'"{name}"' for name, _ in columns)
        expressions = ", ".join(copy_expression(name, kind, postgres) for name, kind in columns)
        execute(f'create temp table base as select * from {schema}."{table}"', None)
        execute(
            f'insert into {schema}."{table}" ({names}) '
            f"select {expressions} from base cross join {copies} as copies(copy)",
            None,
        )
        execute("drop table base", None)
        rows[f"{schema}.{table}"] = execute(f'select count(*) from {schema}."{table}"', None)[0][0]
    return rows


def multiply(target: Path, factor: int) -> dict[str, int]:
    """Grow every customer table of the DuckDB file ``target`` in place to ``factor`` times its rows."""
    with duckdb.connect(str(target)) as connection:

        def execute(sql: str, parameters: list | None) -> list[tuple]:
            result = connection.execute(sql, parameters)
            return result.fetchall() if result.description else []

        rows = _multiply(execute, factor, postgres=False)
        connection.execute("checkpoint")
    return rows


def multiply_postgres(url: str, factor: int) -> dict[str, int]:
    """The same on the PostgreSQL database at ``url`` (one transaction, then analyze)."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:

            def execute(sql: str, parameters: list | None) -> list[tuple]:
                cursor.execute(sql, parameters)
                return cursor.fetchall() if cursor.description else []

            rows = _multiply(execute, factor, postgres=True)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("analyze")
    finally:
        connection.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, required=True, help="a synced DuckDB warehouse")
    parser.add_argument("--target", type=Path, required=True, help="the large warehouse to write")
    parser.add_argument("--factor", type=int, required=True, help="copies of every customer (>= 2)")
    args = parser.parse_args()
    started = time.perf_counter()
    shutil.copyfile(args.source, args.target)
    rows = multiply(args.target, args.factor)
    contacts = rows.get("raw_intercom.contacts", 0)
    print(
        f"{args.target}: {contacts:,} Intercom contacts, {sum(rows.values()):,} raw rows in "
        f"{time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
