"""Build time and peak memory at 100,000 or 1,000,000 customers without hours of syncing.

Syncs a small sandbox (--base customers: Intercom, HubSpot, Calendly, Stripe, ChartMogul and the product
sources: the product database as SQLite, Userflow, Fathom) once, multiplies its raw tables to --customers
with benchmarks/multiply.py, then measures `gtm build` (wall seconds, CPU seconds, peak memory), the
revenue models alone (bench.revenue_build: the billing histories span up to three years) and a daily
rebuild after 1% of the Intercom contacts changed. Usage:

    python benchmarks/scale.py --customers 1000000 [--base 2000] [--memory-limit 2GB] [--dbt-threads 1]
        [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import TOKEN, gtm_env, measure, revenue_build, start_sandbox  # noqa: E402
from multiply import multiply  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=2_000, help="customers synced from the sandbox")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--memory-limit", help="GTM_DUCKDB_MEMORY_LIMIT for the build, e.g. 2GB")
    parser.add_argument(
        "--dbt-threads",
        type=int,
        help="GTM_DBT_THREADS for the build: 1 under a tight memory limit, where two of the largest staging"
        " tests at once outgrow it",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark warehouse folder")
    args = parser.parse_args()

    project = Path(__file__).resolve().parent.parent
    workdir = Path(tempfile.mkdtemp(prefix="gtm-scale-"))
    gtm = [sys.executable, "-m", "gtm.cli"]
    sandbox, base = start_sandbox(gtm, project, args.base, args.seed)
    try:
        env = gtm_env(base, workdir, "duckdb")
        for vendor in ("userflow", "fathom"):
            env[f"SOURCES__{vendor.upper()}__BASE_URL"] = f"{base}/{vendor}"
            env[f"SOURCES__{vendor.upper()}__ACCESS_TOKEN"] = TOKEN
        product = workdir / "product.sqlite"
        measure(
            [*gtm, "sandbox", "product-db", "--out", str(product), "--customers", str(args.base)]
            + ["--seed", str(args.seed)],
            env,
            workdir,
        )
        env["SOURCES__ADMIN__CREDENTIALS"] = f"sqlite:///{product}"
        measure([*gtm, "sync"], env, workdir)
        env["SOURCES__ECB__BASE_URL"] = f"{base}/ecb"
        measure([*gtm, "fx", "refresh"], env, workdir)
    finally:
        sandbox.terminate()
        sandbox.wait()
    try:
        if args.memory_limit:
            env["GTM_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
        if args.dbt_threads:
            env["GTM_DBT_THREADS"] = str(args.dbt_threads)
        factor = max(1, round(args.customers / args.base))
        warehouse = Path(env["GTM_DUCKDB_PATH"])
        rows = multiply(warehouse, factor) if factor > 1 else {}
        contacts = rows.get("raw_intercom.contacts", args.base)
        full = measure([*gtm, "build"], env, workdir)
        revenue = revenue_build(env, workdir, project)
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            stripe_customers, subscriptions, first_start = connection.execute(
                "select (select count(*) from raw_stripe.customers), count(*), min(start_date)"
                " from raw_stripe.subscriptions"
            ).fetchone()
            pieces = connection.execute(
                "select count(*) from intermediate.int_revenue_customer_segments"
            ).fetchone()[0]
        with duckdb.connect(str(warehouse)) as connection:  # a day later: 1% of the contacts changed
            connection.execute(
                "update raw_intercom.contacts set updated_at = updated_at + 86400, "
                "last_seen_at = coalesce(last_seen_at, 0) + 86400 where hash(id) % 100 = 0"
            )
        daily = measure([*gtm, "build"], env, workdir)
        print(
            "\n".join(
                [
                    f"machine      {platform.machine()}, {os.cpu_count()} cores, Python "
                    f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end",
                    f"warehouse    duckdb, {contacts:,} Intercom contacts ({args.base:,} synced x {factor}), "
                    f"{sum(rows.values()):,} raw rows, {rows.get('raw_admin.logins', 0):,} login events; "
                    f"memory limit {env.get('GTM_DUCKDB_MEMORY_LIMIT', '80%')}, "
                    f"dbt threads {env.get('GTM_DBT_THREADS', '2')}",
                    f"build        {full.seconds:,.1f} s ({full.cpu_seconds:,.1f} CPU s), "
                    f"peak {full.peak_mib:,.0f} MiB",
                    f"revenue      {revenue.seconds:,.1f} s ({revenue.cpu_seconds:,.1f} CPU s), peak "
                    f"{revenue.peak_mib:,.0f} MiB: the revenue models with their tests, {stripe_customers:,} "
                    f"Stripe customers, {subscriptions:,} subscriptions since "
                    f"{datetime.fromtimestamp(first_start, timezone.utc):%Y-%m-%d}, {pieces:,} MRR pieces",
                    f"daily build  1% of the contacts changed: {daily.seconds:,.1f} s "
                    f"({daily.cpu_seconds:,.1f} CPU s), {daily.seconds / full.seconds:.0%} of the full build",
                ]
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
