"""Benchmark of `gtm serve`: latency p50/p99 of /customers/by-email/{email} and /dashboard/summary one
request at a time, then the throughput of 50 concurrent clients (bounded in requests and seconds).

Builds a sandbox warehouse of the chosen size first, or reuses one with --reuse: syncs --base customers
from the sandbox (every source, the product database as SQLite), multiplies the raw tables to --customers
with benchmarks/multiply.py (as benchmarks/scale.py does; a 100,000-customer sync would take most of an
hour of Calendly requests), then runs `gtm build`. Figures, not assertions. Usage:
    python benchmarks/bench_api.py --customers 100000 [--base 2000] [--warehouse postgres] [--requests 300]
        [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
API_KEY = "bench-api-key-9d2f"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[-2:])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def build_warehouse(args: argparse.Namespace, env: dict[str, str], workdir: Path, gtm: list[str]) -> None:
    base_customers = min(args.base, args.customers)
    port = free_port()
    sandbox = subprocess.Popen(
        [*gtm, "sandbox", "serve", "--port", str(port), "--customers", str(base_customers)]
        + ["--token", TOKEN, "--rate-limit", "1000000", "--fathom-rate-limit", "1000000"],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{base}/_sandbox/stats", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        for name in ("intercom", "hubspot", "calendly", "stripe", "chartmogul", "userflow", "fathom"):
            env[f"SOURCES__{name.upper()}__BASE_URL"] = f"{base}/{name}"
            env[f"SOURCES__{name.upper()}__ACCESS_TOKEN"] = TOKEN
        env["SOURCES__HUBSPOT__SETTLE_SECONDS"] = "0"
        env["SOURCES__CALENDLY__INITIAL_DAYS"] = "3650"
        product = workdir / "product.sqlite"
        run(
            [*gtm, "sandbox", "product-db", "--out", str(product), "--customers", str(base_customers)],
            env,
            workdir,
        )
        env["SOURCES__ADMIN__CREDENTIALS"] = f"sqlite:///{product}"
        run([*gtm, "sync"], env, workdir)
        env["SOURCES__ECB__BASE_URL"] = f"{base}/ecb"
        run([*gtm, "fx", "refresh"], env, workdir)
    finally:
        sandbox.terminate()  # a busy sandbox can take long to finish its request threads after Ctrl-C
        sandbox.wait(timeout=30)
    factor = max(1, round(args.customers / base_customers))
    if factor > 1:
        sys.path.insert(0, str(PROJECT / "benchmarks"))
        from multiply import multiply, multiply_postgres

        if args.warehouse == "postgres":
            multiply_postgres(env["DATABASE_URL"], factor)
        else:
            multiply(Path(env["GTM_DUCKDB_PATH"]), factor)
    run([*gtm, "build"], env, workdir)


def emails(env: dict[str, str]) -> list[str]:
    """A sample of customer emails to look up (read once from the mart, before timing)."""
    sys.path.insert(0, str(PROJECT))
    os.environ.update(env)
    from gtm.settings import Settings
    from gtm.warehouse import connect

    with connect(Settings.from_env(), read_only=True) as warehouse:
        rows = warehouse.query("select email from marts.unified_customers order by email_key limit 1000")
    return [row["email"] for row in rows]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def latencies(client: httpx.Client, paths: list[str]) -> list[float]:
    seconds = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        seconds.append(time.perf_counter() - started)
        if answer.status_code not in (200, 404):
            sys.exit(f"{path}: {answer.status_code} {answer.text[:200]}")
    return seconds


def throughput(url: str, paths: list[str], clients: int, limit_seconds: float) -> tuple[int, int, float]:
    """`clients` threads share the paths until done or out of time: (ok, errors, seconds)."""
    queue = list(paths)
    guard = threading.Lock()
    counts = {"ok": 0, "errors": 0}
    deadline = time.perf_counter() + limit_seconds

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as client:
            while time.perf_counter() < deadline:
                with guard:
                    if not queue:
                        return
                    path = queue.pop()
                ok = client.get(path).status_code == 200
                with guard:
                    counts["ok" if ok else "errors"] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"], counts["errors"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--base", type=int, default=2000, help="Customers synced before multiplying.")
    parser.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--requests", type=int, default=300, help="Timed requests per endpoint.")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="Time bound of the concurrent run.")
    parser.add_argument("--reuse", metavar="DIR", help="Work directory of an earlier run: skip the build.")
    args = parser.parse_args()

    workdir = Path(args.reuse or tempfile.mkdtemp(prefix="gtm-bench-api-")).absolute()
    env = {
        **os.environ,
        "GTM_WAREHOUSE": args.warehouse,
        "GTM_DUCKDB_PATH": str(workdir / "gtm.duckdb"),
        "GTM_PIPELINES_DIR": str(workdir / "pipelines"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "GTM_API_KEYS": f"bench:{API_KEY}",
        "PYTHONPATH": str(PROJECT),
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    if args.warehouse == "postgres" and not env.get("DATABASE_URL"):
        sys.exit("--warehouse postgres needs DATABASE_URL (an empty database)")
    gtm = [sys.executable, "-m", "gtm.cli"]
    if not args.reuse:
        started = time.perf_counter()
        build_warehouse(args, env, workdir, gtm)
        print(f"built {args.customers:,} customers in {time.perf_counter() - started:,.0f}s ({workdir})")
    sample = emails(env)
    port = free_port()
    server = subprocess.Popen(
        [*gtm, "serve", "--port", str(port)], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=None
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        random.seed(7)
        by_email = [f"/customers/by-email/{random.choice(sample)}" for _ in range(args.requests)]
        summary = ["/dashboard/summary"] * args.requests
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            latencies(client, by_email[:10] + summary[:10])  # warm up
            print(
                f"{args.warehouse}, {args.customers:,} customers, {platform.machine()}, {os.cpu_count()} CPUs"
            )
            for name, paths in (("/customers/by-email/{email}", by_email), ("/dashboard/summary", summary)):
                seconds = latencies(client, paths)
                print(
                    f"{name:32} p50 {percentile(seconds, 0.5) * 1000:7.1f} ms  "
                    f"p99 {percentile(seconds, 0.99) * 1000:7.1f} ms  ({len(seconds)} requests)"
                )
        mixed = [path for pair in zip(by_email, summary, strict=True) for path in pair] * 2
        ok, errors, seconds = throughput(url, mixed, args.clients, args.seconds)
        print(
            f"{args.clients} concurrent clients: {ok:,} ok, {errors:,} errors in {seconds:,.1f}s = "
            f"{ok / seconds:,.0f} requests/s (by-email and summary mixed)"
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
