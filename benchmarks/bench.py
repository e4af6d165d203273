"""Benchmark: sandbox -> gtm sync -> gtm build at a chosen size, into a fresh DuckDB (or PostgreSQL).

Prints, for one size: requests made and the minimum possible; the Intercom loader's records per second net
of the server's share (a plain page-reading loop over the same sandbox measures the server); the build's
seconds, CPU seconds and peak memory; a daily run (1% of the contacts changed: sync then build) against the
full one; the seed-style baseline (benchmarks/seed_baseline.py) against the product end to end, on the
loopback sandbox and again with every Intercom request held --round-trip-ms (a vendor's round trip); and the
fixed cost of `gtm build` on a tiny (200-customer) warehouse. Figures, not assertions. Usage:
    python benchmarks/bench.py --customers 10000 [--warehouse postgres] [--keep] [--no-baseline]
        [--round-trip-ms 100]
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_baseline import run as run_seed_baseline  # noqa: E402
from seed_baseline import search  # noqa: E402

TOKEN = "bench-token"
TINY = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_mib: float


# Runs the command as its own child and writes the kernel's accounting of it (exit code, CPU seconds, peak
# KiB). A child forked from this benchmark's own process would start with this process's peak memory as its
# own (Linux counts the memory of the forked image), and the benchmark holds a generated company in memory.
LAUNCHER = """
import json, resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump([code, usage.ru_utime + usage.ru_stime, usage.ru_maxrss], out)
"""


def measure(command: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run a child to its end: wall seconds, CPU seconds and peak memory from the kernel's accounting."""
    started = time.perf_counter()
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        launcher = [sys.executable, "-c", LAUNCHER, report.name, *command]
        subprocess.run(launcher, env=env, cwd=cwd, stdout=out, stderr=err, text=True, check=False)
        seconds = time.perf_counter() - started
        code, cpu_seconds, peak_kib = json.loads(report.read())
        if code != 0:
            out.seek(0)
            err.seek(0)
            sys.exit(f"{' '.join(command[3:])} failed:\n{out.read()[-3000:]}\n{err.read()[-3000:]}")
    return Measured(seconds, cpu_seconds, peak_kib / 1024)


def start_sandbox(gtm: list[str], project: Path, customers: int, seed: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    sandbox = subprocess.Popen(
        [
            *gtm,
            "sandbox",
            "serve",
            "--rate-limit",
            "1000000",  # measure the pipeline, not the sandbox's rate-limit waits
            "--fathom-rate-limit",
            "1000000",
            "--port",
            str(port),
            "--customers",
            str(customers),
            "--seed",
            str(seed),
            "--token",
            TOKEN,
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert sandbox.stdout is not None
    sandbox.stdout.readline()  # the sandbox prints its base URLs once it listens
    return sandbox, f"http://127.0.0.1:{port}"


def gtm_env(base: str, workdir: Path, warehouse: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GTM_WAREHOUSE": warehouse,
        "GTM_DUCKDB_PATH": str(workdir / "bench.duckdb"),
        "GTM_PIPELINES_DIR": str(workdir / "pipelines"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "SOURCES__HUBSPOT__SETTLE_SECONDS": "0",  # the sandbox's data is settled
        "SOURCES__CALENDLY__INITIAL_DAYS": "800",  # every generated call
    }
    for vendor in ("intercom", "hubspot", "calendly", "stripe", "chartmogul"):
        env[f"SOURCES__{vendor.upper()}__BASE_URL"] = f"{base}/{vendor}"
        env[f"SOURCES__{vendor.upper()}__ACCESS_TOKEN"] = TOKEN
    return env


def fixed_cost(gtm: list[str], project: Path, seed: int) -> tuple[Measured, Measured]:
    """`gtm build` on a tiny warehouse: the first build (full parse) and the next one (what cron pays)."""
    sandbox, base = start_sandbox(gtm, project, TINY, seed)
    workdir = Path(tempfile.mkdtemp(prefix="gtm-bench-tiny-"))
    try:
        env = gtm_env(base, workdir, "duckdb")
        measure([*gtm, "sync"], env, workdir)
        first = measure([*gtm, "build"], env, workdir)
        again = measure([*gtm, "build"], env, workdir)
        return first, again
    finally:
        sandbox.terminate()
        sandbox.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def server_share(base: str) -> tuple[float, int]:
    """Seconds a plain loop needs to read every Intercom page the loader reads, and the records read: the
    loader's own request bodies, the contacts and the conversations read at the same time, as the loader
    reads them (dlt takes turns between the two resources and each reads its next page ahead)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from loaders.intercom.helpers import search_body

    def read(listing: tuple[str, str]) -> int:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.11"})
        url = f"{base}/intercom/{listing[0]}/search"
        return len(search(session, url, listing[1], search_body(None)))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        records = sum(pool.map(read, [("contacts", "data"), ("conversations", "conversations")]))
    return time.perf_counter() - started, records


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
) -> tuple[int, Measured, dict]:
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
    synced = measure([*gtm, "sync"], env, workdir)
    return changed, synced, control(base, "stats")


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
    base: str, args: argparse.Namespace, env: dict[str, str], workdir: Path, gtm: list[str], project: Path
) -> str:
    """Change 1% of the active subscriptions, sync Stripe and ChartMogul again, time the revenue models."""
    from sandbox.company import Company
    from sandbox.stripe import Ledger

    ledger = Ledger(Company(seed=args.seed, customers=args.customers))
    active = [s for s in ledger.objects["subscriptions"] if s["status"] == "active"]
    changed = active[::100][: max(1, len(active) // 100)]
    control(base, "stats/reset", {})
    control(base, "stripe/subscriptions", {"changes": [{"id": sub["id"], "quantity": 9} for sub in changed]})
    env = {**env, "GTM_SOURCES": "stripe,chartmogul"}
    seconds = measure([*gtm, "sync"], env, workdir).seconds
    stats = control(base, "stats")
    records = stats["records"]
    chartmogul_min = max(1, math.ceil(records["chartmogul_customers_returned"] / 200)) + max(
        1, math.ceil(records["chartmogul_activities_returned"] / 200)
    )
    built = revenue_build(env, workdir, project)
    build_s, build_mib = built.seconds, built.peak_mib
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


REVENUE_MODELS = ("staging.stripe", "staging.chartmogul", "intermediate.revenue", "marts.revenue")


def revenue_build(env: dict[str, str], workdir: Path, project: Path) -> Measured:
    """The revenue models alone (staging, intermediate and marts of Stripe and ChartMogul, with their tests),
    on a warehouse a full build has made (they read marts.fx_rates)."""
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, "build", "--quiet", "--profiles-dir", str(project), "--project-dir", str(project)]
    return measure([*command, "--select", *REVENUE_MODELS], env, workdir)


def round_trip_comparison(gtm: list[str], base: str, round_trip_ms: float) -> str:
    """The product (Intercom sync + build into a new warehouse) and the seed-style baseline again, measured
    while the sandbox holds every Intercom request for `round_trip_ms` (a delay-only fault): a vendor's API
    charges a round trip per request, which the loopback sandbox does not. Both sides read the same pages
    and make their requests one after another."""
    workdir = Path(tempfile.mkdtemp(prefix="gtm-bench-trip-"))
    control(base, "faults", {"path_prefix": "/intercom/", "delay_ms": round(round_trip_ms)})
    try:
        env = gtm_env(base, workdir, "duckdb")
        control(base, "stats/reset", {})
        synced = measure([*gtm, "sync", "--source", "intercom"], env, workdir)
        built = measure([*gtm, "build"], env, workdir)
        made = requests_of(control(base, "stats"), "intercom")
        baseline = run_seed_baseline(f"{base}/intercom", TOKEN, str(workdir / "seed_baseline.duckdb"))
    finally:
        request = urllib.request.Request(f"{base}/_sandbox/faults", method="DELETE")
        urllib.request.urlopen(request).close()
        shutil.rmtree(workdir, ignore_errors=True)
    product = synced.seconds + built.seconds
    return (
        f"  at {round_trip_ms:.0f} ms a request (measured: the sandbox holds each Intercom request that "
        f"long): product {product:,.1f} s (sync {synced.seconds:,.1f} s, {made:,} requests; build "
        f"{built.seconds:,.1f} s), baseline {baseline['seconds']:,.1f} s "
        f"({baseline['requests']:,} requests), baseline / product = {baseline['seconds'] / product:.1f}"
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
    parser.add_argument("--no-baseline", action="store_true", help="skip the seed-style baseline")
    parser.add_argument(
        "--round-trip-ms",
        type=float,
        default=100.0,
        help="the baseline comparison again with every Intercom request held this long (a vendor API's round"
        " trip); 0 skips it",
    )
    args = parser.parse_args()

    project = Path(__file__).resolve().parent.parent
    workdir = Path(tempfile.mkdtemp(prefix="gtm-bench-"))
    gtm = [sys.executable, "-m", "gtm.cli"]
    sandbox, base = start_sandbox(gtm, project, args.customers, args.seed)
    database = f"gtm_bench_{os.getpid()}"
    try:
        env = gtm_env(base, workdir, args.warehouse)
        if args.warehouse == "postgres":
            psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
            subprocess.run([*psql, f"create database {database}"], check=True)
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{database}"
        # the Intercom loader alone, then the server's share of it: the same pages read by a plain loop
        intercom = measure([*gtm, "sync", "--source", "intercom"], env, workdir)
        intercom_requests = requests_of(control(base, "stats"), "intercom")
        loop_s, loop_records = server_share(base)
        others = measure([*gtm, "sync", "--source", "hubspot", "--source", "calendly"], env, workdir)
        revenue = measure([*gtm, "sync", "--source", "stripe", "--source", "chartmogul"], env, workdir)
        stats = control(base, "stats")
        records = stats["records"]
        stripe_least = stripe_minimum(args)
        chartmogul_least = minimum_requests(stats)["chartmogul"]
        contacts = records["intercom_contacts_returned"] // 2  # the loop read them a second time
        conversations = records["intercom_conversations_returned"] // 2
        hubspot_records = sum(
            records[f"hubspot_{kind}_returned"] for kind in ("contacts", "companies", "deals", "owners")
        )
        calendly_records = records["calendly_events_returned"] + records["calendly_invitees_returned"]
        build = measure([*gtm, "build"], env, workdir)
        changed, daily_sync, inc_stats = incremental_round(base, args, env, workdir, gtm)
        daily_build = measure([*gtm, "build"], env, workdir)
        inc_contacts = inc_stats["records"]["intercom_contacts_returned"]
        inc_conversations = inc_stats["records"]["intercom_conversations_returned"]
        inc_minimums = minimum_requests(inc_stats)
        # Intercom searches overlap a day (loaders/intercom/README.md): its minimum is the changed contacts
        inc_minimums["intercom"] = math.ceil(changed / 150) + 1
        # nothing changed in Stripe: the events since the cursor, prices and coupons
        inc_minimums["stripe"] = 3
        intercom_records = contacts + conversations
        net = intercom.seconds - loop_s
        full_run = intercom.seconds + others.seconds + revenue.seconds + build.seconds
        daily_run = daily_sync.seconds + daily_build.seconds
        lines = [
            f"machine            {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end",
            f"warehouse          {args.warehouse}",
            f"customers          {args.customers:,} (seed {args.seed})",
            f"records fetched    {contacts:,} contacts, {conversations:,} conversations (intercom); "
            f"{hubspot_records:,} (hubspot); {calendly_records:,} events and invitees (calendly)",
            f"intercom sync      {intercom.seconds:,.1f} s ({intercom.cpu_seconds:,.1f} CPU s), "
            f"{intercom_records / intercom.seconds:,.0f} records/s, peak {intercom.peak_mib:,.0f} MiB",
            f"  server's share   {loop_s:,.1f} s (a plain loop reading the same {loop_records:,} records)",
            f"  loader, net      {intercom_records / net:,.0f} records/s (wall minus the server's share); "
            f"{intercom_records / intercom.cpu_seconds:,.0f} records per CPU second of the loader"
            if net > 0
            else "  loader, net -",
            f"hubspot+calendly   {others.seconds:,.1f} s, peak {others.peak_mib:,.0f} MiB",
            f"stripe+chartmogul  {revenue.seconds:,.1f} s; requests: stripe {requests_of(stats, 'stripe'):,} "
            f"made, {stripe_least:,} minimum; chartmogul {requests_of(stats, 'chartmogul'):,} made, "
            f"{chartmogul_least:,} minimum",
            f"build              {build.seconds:,.1f} s ({build.cpu_seconds:,.1f} CPU s), "
            f"peak {build.peak_mib:,.0f} MiB",
            f"full run           {full_run:,.1f} s (sync + build)",
            f"daily run          {changed:,} contacts changed: sync {daily_sync.seconds:,.1f} s + build "
            f"{daily_build.seconds:,.1f} s = {daily_run:,.1f} s, {daily_run / full_run:.0%} of the full run",
            f"  requests         {inc_stats['total']:,} made, {sum(inc_minimums.values()):,} minimum; "
            f"{inc_contacts:,} contacts and {inc_conversations:,} conversations fetched",
            *(
                f"    {vendor:<15}{requests_of(inc_stats, vendor):,} made, {least:,} minimum possible"
                for vendor, least in inc_minimums.items()
            ),
        ]
        lines.append(stripe_round(base, args, env, workdir, gtm, project))
        print("\n".join(lines), flush=True)
        if not args.no_baseline:
            control(base, "stats/reset", {})
            baseline = run_seed_baseline(f"{base}/intercom", TOKEN, str(workdir / "seed_baseline.duckdb"))
            product = intercom.seconds + build.seconds
            product_cpu = intercom.cpu_seconds + build.cpu_seconds
            print(
                f"seed-style baseline {baseline['seconds']:,.1f} s ({baseline['cpu_seconds']:,.1f} CPU s), "
                f"{baseline['requests']:,} requests\n"
                f"  against product  Intercom sync + build {product:,.1f} s ({product_cpu:,.1f} CPU s): "
                f"baseline / product = {baseline['seconds'] / product:.1f} (wall), "
                f"{baseline['cpu_seconds'] / product_cpu:.1f} (CPU); "
                f"{baseline['requests'] / max(1, intercom_requests):.0f}x the requests "
                f"({intercom_requests:,} made by the product)",
                flush=True,
            )
            if args.round_trip_ms:
                print(round_trip_comparison(gtm, base, args.round_trip_ms), flush=True)
        first, again = fixed_cost(gtm, project, args.seed)
        print(
            f"fixed cost         gtm build on {TINY} customers: {again.seconds:.1f} s "
            f"({again.cpu_seconds:.1f} CPU s), peak {again.peak_mib:,.0f} MiB; "
            f"first build (full parse) {first.seconds:.1f} s"
        )
        if args.warehouse == "postgres":
            subprocess.run([*psql, f"drop database {database} with (force)"], check=False)
    finally:
        sandbox.terminate()
        sandbox.wait()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
