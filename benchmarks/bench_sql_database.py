"""Benchmark: the product database load (loaders/admin, dlt sql_database) per backend, side by side.

Writes the sandbox's product database (SQLite by default, or a PostgreSQL URL) for a chosen size, then for
each backend loads it into a fresh DuckDB: the first (full) load, then an incremental load after 1% more
login events. Prints rows, seconds and rows per second. Figures, not assertions. Usage:
    python benchmarks/bench_sql_database.py --customers 2000 [--backends pyarrow,sqlalchemy] [--url URL]
(about 65 login events per customer: 16,000 customers is about a million.)
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DLT_PROJECT_DIR", str(Path(__file__).resolve().parent.parent))

import dlt  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from loaders.admin import admin_source  # noqa: E402
from sandbox.company import Company  # noqa: E402
from sandbox.crm import CRM  # noqa: E402
from sandbox.product_db import ProductDB, product_table, sqlite_url  # noqa: E402


def add_logins(url: str, share: float) -> int:
    """Append `share` more login events, committed after every existing one; returns how many."""
    engine = sa.create_engine(url)
    logins = product_table(sa.MetaData(), "logins")
    with engine.begin() as connection:
        count, last_id, users, last_commit = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.max(logins.c.login_id),
                sa.func.max(logins.c.user_id),
                sa.func.max(logins.c.created_at),
            )
        ).one()
        now = last_commit + datetime.timedelta(minutes=1)
        extra = max(1, int(count * share))
        rows = [
            {"login_id": last_id + n + 1, "user_id": 1 + n % users, "logged_in_at": now, "created_at": now}
            for n in range(extra)
        ]
        connection.execute(logins.insert(), rows)
    engine.dispose()
    return extra


def load(url: str, backend: str, workdir: Path) -> tuple[int, float]:
    """One sync of the admin source: (rows loaded, seconds)."""
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_admin_{backend}",
        destination=dlt.destinations.duckdb(str(workdir / f"{backend}.duckdb")),
        dataset_name="raw_admin",
        pipelines_dir=str(workdir / "pipelines"),
    )
    started = time.perf_counter()
    pipeline.run(admin_source(credentials=url, backend=backend), loader_file_format="parquet")
    seconds = time.perf_counter() - started
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return sum(rows for table, rows in counts.items() if not table.startswith("_dlt")), seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backends", default="pyarrow,sqlalchemy")
    parser.add_argument("--url", help="write the product database here (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gtm-bench-sql-") as tmp:
        workdir = Path(tmp)
        url = args.url or sqlite_url(str(workdir / "product.sqlite"))
        started = time.perf_counter()
        product = ProductDB(CRM(Company(seed=args.seed, customers=args.customers)))
        counts = product.write(url)
        print(
            f"product database: {args.customers:,} customers, {counts['logins']:,} logins, "
            f"{sum(counts.values()):,} rows in all, written in {time.perf_counter() - started:.1f}s"
        )
        results = {}
        for backend in args.backends.split(","):
            rows, seconds = load(url, backend, workdir)
            results[backend] = (rows, seconds)
            print(
                f"{backend:<11} full load:  {rows:>10,} rows {seconds:>7.1f}s {rows / seconds:>10,.0f} rows/s"
            )
        extra = add_logins(url, 0.01)
        print(f"+{extra:,} login events (1%)")
        for backend in args.backends.split(","):
            rows, seconds = load(url, backend, workdir)
            print(f"{backend:<11} increment: {rows:>10,} rows {seconds:>7.1f}s (lag re-reads included)")


if __name__ == "__main__":
    main()
