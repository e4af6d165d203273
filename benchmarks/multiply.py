"""Make a large DuckDB warehouse quickly: copy the raw tables of a synced one N times with SQL.

Syncing 1,000,000 customers from the sandbox takes hours (Calendly alone costs one request per event), so
the scale benchmarks sync a small warehouse once and multiply its raw_<source> tables: copy k of every row
gets its keys suffixed (ids, dlt row ids, parent ids, URIs) and the customer's emails prefixed with `k.`,
so every copy is a distinct customer that still matches across Intercom, HubSpot, Calendly, Stripe and
ChartMogul, with the same billing history. Account
managers, admins and hosts stay shared, as in a real workspace. Usage:

    python benchmarks/multiply.py --source data/gtm.duckdb --target /tmp/big.duckdb --factor 50
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb

SCHEMAS = ("raw_intercom", "raw_hubspot", "raw_calendly", "raw_stripe", "raw_chartmogul")
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
EMAIL_COLUMNS = {"email", "properties__email", "source__author__email"}


def copy_expression(column: str, data_type: str) -> str:
    quoted = f'"{column}"'
    if data_type != "VARCHAR":
        return quoted
    if column in EMAIL_COLUMNS:
        return f"case when {quoted} is null then null else copy || '.' || {quoted} end"
    if column in KEY_COLUMNS:
        # digits stay digits (HubSpot ids are numeric strings), anything else gets a suffix
        return (
            f"case when {quoted} is null then null when regexp_full_match({quoted}, '[0-9]+') "
            f"then '9' || lpad(copy::varchar, 4, '0') || {quoted} else {quoted} || '-x' || copy::varchar end"
        )
    return quoted


def multiply(target: Path, factor: int) -> dict[str, int]:
    """Grow every customer table of ``target`` in place to ``factor`` times its rows."""
    rows: dict[str, int] = {}
    with duckdb.connect(str(target)) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS!r} and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            if table in SHARED_TABLES or table.startswith("_dlt"):
                continue
            columns = connection.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            names = ", ".join(f'"{name}"' for name, _ in columns)
            expressions = ", ".join(copy_expression(name, kind) for name, kind in columns)
            connection.execute(f'create temp table base as select * from {schema}."{table}"')
            connection.execute(
                f'insert into {schema}."{table}" ({names}) '
                f"select {expressions} from base cross join range(1, {factor}) as copies(copy)"
            )
            connection.execute("drop table base")
            rows[f"{schema}.{table}"] = connection.execute(
                f'select count(*) from {schema}."{table}"'
            ).fetchone()[0]
        connection.execute("checkpoint")
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
