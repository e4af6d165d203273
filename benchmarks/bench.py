"""Benchmark: sandbox -> gtm sync -> gtm build at a chosen size, into a fresh DuckDB (or PostgreSQL).

Prints requests made and the minimum possible, seconds, rows per second and peak memory of each step.
Figures, not assertions: compare runs on the same machine. Usage:
    python benchmarks/bench.py --customers 10000 [--warehouse postgres] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TOKEN = "bench-token"
PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_mib_of(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Like run_measured, with the peak memory read from the kernel's accounting of the child."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out_chunks = process.stdout.read() if process.stdout else ""
    err_chunks = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command[-2:])} failed:\n{out_chunks[-3000:]}\n{err_chunks[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, err_chunks


def control(base: str, path: str, body: object = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/_sandbox/{path}",
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def incremental_round(
    base: str, args: argparse.Namespace, env: dict[str, str], workdir: Path, gtm: list[str]
) -> tuple[int, float, dict]:
    """Change 1% of the contacts in Intercom and in HubSpot, sync again, and return what that cost."""
    from sandbox.company import Company
    from sandbox.crm import CRM

    company = Company(seed=args.seed, customers=args.customers)
    crm = CRM(company)
    changed = max(1, args.customers // 100)
    step = args.customers // changed
    control(base, "stats/reset", {})
    for index in range(0, changed * step, step):
        control(base, f"intercom/contacts/{company.contact_id(index)}", {"name": f"Renamed {index}"})
    hubspot = [p for p in range(0, args.customers, step) if crm.contact_exists(p)][:changed]
    for p in hubspot:
        control(base, f"hubspot/contacts/{crm.contact_id(p)}", {"properties": {"jobtitle": "Renamed"}})
    env = {**env, "SOURCES__HUBSPOT__SETTLE_SECONDS": "0"}  # the changes were made just now
    seconds, _, _ = peak_mib_of([*gtm, "sync"], env, workdir)
    return changed, seconds, control(base, "stats")


def stripe_minimum(args: argparse.Namespace) -> int:
    """Fewest requests of a full Stripe sync (loaders/stripe/README.md): the events cursor, every list, the
    subscription update events of the last 30 days; counted from the sandbox's own ledger."""
    from sandbox.company import Company
    from sandbox.stripe import EVENT_DAYS, Ledger

    company = Company(seed=args.seed, customers=args.customers)
    ledger = Ledger(company)
    window = company.anchor_ts - EVENT_DAYS * 86_400
    updates = sum(
        1
        for event in ledger.objects["events"]
        if event["type"] == "customer.subscription.updated" and event["created"] >= window
    )
    lists = ("customers", "subscriptions", "prices", "coupons", "invoices", "charges", "refunds")
    return (
        1
        + sum(max(1, math.ceil(len(ledger.objects[name]) / 100)) for name in lists)
        + max(1, math.ceil(updates / 100))
    )


def stripe_round(
    base: str, args: argparse.Namespace, env: dict[str, str], workdir: Path, gtm: list[str]
) -> str:
    """Change 1% of the active subscriptions, sync Stripe and ChartMogul again, time the revenue models."""
    from sandbox.company import Company
    from sandbox.stripe import Ledger

    ledger = Ledger(Company(seed=args.seed, customers=args.customers))
    active = [s for s in ledger.objects["subscriptions"] if s["status"] == "active"]
    changed = active[::100][: max(1, len(active) // 100)]
    control(base, "stats/reset", {})
    for sub in changed:
        control(base, f"stripe/subscriptions/{sub['id']}", {"quantity": 9})
    env = {**env, "GTM_SOURCES": "stripe,chartmogul"}
    seconds, _, _ = peak_mib_of([*gtm, "sync"], env, workdir)
    stats = control(base, "stats")
    records = stats["records"]
    chartmogul_min = max(1, math.ceil(records["chartmogul_customers_returned"] / 200)) + max(
        1, math.ceil(records["chartmogul_activities_returned"] / 200)
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    models = "staging.stripe staging.chartmogul intermediate.revenue marts.revenue"
    build = [
        dbt,
        "build",
        "--quiet",
        "--profiles-dir",
        str(PROJECT),
        "--project-dir",
        str(PROJECT),
        "--select",
        *models.split(),
    ]
    build_s, build_mib, _ = peak_mib_of(build, env, workdir)
    total = len(ledger.objects["subscriptions"])
    made, cm_made = requests_of(stats, "stripe"), requests_of(stats, "chartmogul")
    return "\n".join(
        [
            f"incremental stripe {len(changed):,} of {total:,} subscriptions changed: {made:,} requests made,"
            f" {1 + len(changed) + 2:,} minimum possible, {seconds:,.1f} s",
            f"  chartmogul       {cm_made:,} made, {chartmogul_min:,} minimum possible",
            f"revenue models     {build_s:,.1f} s (staging, intermediate and marts of revenue, with tests),"
            f" peak {build_mib:,.0f} MiB",
        ]
    )


def requests_of(stats: dict, vendor: str) -> int:
    return sum(n for path, n in stats["requests"].items() if path.split(" ", 1)[-1].startswith(f"/{vendor}/"))


def minimum_requests(stats: dict) -> dict[str, int]:
    """The fewest requests each vendor's API allows for what was fetched (loaders/*/README.md)."""
    records = stats["records"]
    contacts = records["intercom_contacts_returned"]
    conversations = records["intercom_conversations_returned"]
    deals = records["hubspot_deals_returned"]
    events = records["calendly_events_returned"]
    return {
        "intercom": max(1, math.ceil(contacts / 150)) + max(1, math.ceil(conversations / 150)),
        # three searches (at least one page each), associations per 1,000 changed deals, owners twice
        "hubspot": max(1, math.ceil(records["hubspot_contacts_returned"] / 200))
        + max(1, math.ceil(records["hubspot_companies_returned"] / 200))
        + max(1, math.ceil(deals / 200))
        + math.ceil(deals / 1000)
        + 2,
        # /users/me, the event list, and one invitee page per event read (one invitee each in the sandbox)
        "calendly": 1 + max(1, math.ceil(events / 100)) + records["calendly_invitees_returned"],
        # customers and activities, 200 a page
        "chartmogul": max(1, math.ceil(records["chartmogul_customers_returned"] / 200))
        + max(1, math.ceil(records["chartmogul_activities_returned"] / 200)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark warehouse folder")
    args = parser.parse_args()

    project = Path(__file__).resolve().parent.parent
    workdir = Path(tempfile.mkdtemp(prefix="gtm-bench-"))
    port = free_port()
    gtm = [sys.executable, "-m", "gtm.cli"]
    sandbox = subprocess.Popen(
        [
            *gtm,
            "sandbox",
            "serve",
            "--rate-limit",
            "1000000",  # measure the pipeline, not the sandbox's rate-limit waits
            "--port",
            str(port),
            "--customers",
            str(args.customers),
            "--seed",
            str(args.seed),
            "--token",
            TOKEN,
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert sandbox.stdout is not None
        sandbox.stdout.readline()  # the sandbox prints its base URLs once it listens
        env = {
            **os.environ,
            "GTM_WAREHOUSE": args.warehouse,
            "GTM_DUCKDB_PATH": str(workdir / "bench.duckdb"),
            "GTM_PIPELINES_DIR": str(workdir / "pipelines"),
            "DBT_TARGET_PATH": str(workdir / "target"),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "SOURCES__INTERCOM__BASE_URL": f"{base}/intercom",
            "SOURCES__INTERCOM__ACCESS_TOKEN": TOKEN,
            "SOURCES__HUBSPOT__BASE_URL": f"{base}/hubspot",
            "SOURCES__HUBSPOT__ACCESS_TOKEN": TOKEN,
            "SOURCES__CALENDLY__BASE_URL": f"{base}/calendly",
            "SOURCES__CALENDLY__ACCESS_TOKEN": TOKEN,
            "SOURCES__STRIPE__BASE_URL": f"{base}/stripe",
            "SOURCES__STRIPE__ACCESS_TOKEN": TOKEN,
            "SOURCES__CHARTMOGUL__BASE_URL": f"{base}/chartmogul",
            "SOURCES__CHARTMOGUL__ACCESS_TOKEN": TOKEN,
        }
        if args.warehouse == "postgres":
            database = f"gtm_bench_{os.getpid()}"
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"create database {database}"],
                check=True,
            )
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
        sync_s, sync_mib, _ = peak_mib_of([*gtm, "sync"], env, workdir)
        with urllib.request.urlopen(f"{base}/_sandbox/stats") as response:
            stats = json.load(response)
        records = stats["records"]
        contacts = records["intercom_contacts_returned"]
        conversations = records["intercom_conversations_returned"]
        hubspot_records = sum(
            records[f"hubspot_{kind}_returned"] for kind in ("contacts", "companies", "deals", "owners")
        )
        calendly_records = records["calendly_events_returned"] + records["calendly_invitees_returned"]
        minimums = minimum_requests(stats)
        minimums["stripe"] = stripe_minimum(args)
        minimum = sum(minimums.values())
        build_s, build_mib, _ = peak_mib_of([*gtm, "build"], env, workdir)
        rows = contacts + conversations + hubspot_records + calendly_records
        changed, inc_s, inc_stats = incremental_round(base, args, env, workdir, gtm)
        inc_contacts = inc_stats["records"]["intercom_contacts_returned"]
        inc_conversations = inc_stats["records"]["intercom_conversations_returned"]
        inc_minimums = minimum_requests(inc_stats)
        # Intercom searches overlap a day (loaders/intercom/README.md): its minimum is the changed contacts
        inc_minimums["intercom"] = math.ceil(changed / 150) + 1
        # nothing changed in Stripe: the events since the cursor, prices and coupons
        inc_minimums["stripe"] = 3
        lines = [
            f"machine            {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            f"warehouse          {args.warehouse}",
            f"customers          {args.customers:,} (seed {args.seed})",
            f"records fetched    {contacts:,} contacts, {conversations:,} conversations (intercom); "
            f"{hubspot_records:,} (hubspot); {calendly_records:,} events and invitees (calendly)",
            f"requests           {stats['total']:,} made, {minimum:,} minimum possible",
            *(
                f"  {vendor:<17}{requests_of(stats, vendor):,} made, {least:,} minimum possible"
                for vendor, least in minimums.items()
            ),
            f"sync               {sync_s:,.1f} s, {rows / sync_s:,.0f} records/s, peak {sync_mib:,.0f} MiB",
            f"build              {build_s:,.1f} s, {rows / build_s:,.0f} records/s, "
            f"peak {build_mib:,.0f} MiB",
            f"total              {sync_s + build_s:,.1f} s",
            f"incremental sync   {changed:,} contacts changed: {inc_stats['total']:,} requests made, "
            f"{sum(inc_minimums.values()):,} minimum possible; {inc_contacts:,} contacts and "
            f"{inc_conversations:,} conversations fetched, {inc_s:,.1f} s",
            *(
                f"  {vendor:<17}{requests_of(inc_stats, vendor):,} made, {least:,} minimum possible"
                for vendor, least in inc_minimums.items()
            ),
        ]
        lines.append(stripe_round(base, args, env, workdir, gtm))
        print("\n".join(lines))
        if args.warehouse == "postgres":
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-qc",
                    f"drop database {database} with (force)",
                ],
                check=False,
            )
    finally:
        sandbox.terminate()
        sandbox.wait()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
