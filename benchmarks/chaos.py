"""Randomized fault schedules against the sandbox: kills at every sync stage, HTTP faults, overlapping runs
and malformed records, then one ordinary `gtm sync`; the raw data must equal a clean sync of the same
sandbox. Prints `N schedules, M differences from a clean run` per warehouse; exits 1 on any difference.

    python benchmarks/chaos.py --runs 20 [--warehouse duckdb --warehouse postgres] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.server import start_in_thread  # noqa: E402

KILL_AT = ROOT / "tests" / "reliability" / "kill_at.py"
TOKEN = "chaos-token"
PG_ADMIN_URL = os.environ.get("GTM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# dlt's bookkeeping differs between any two runs; everything else must be identical.
VOLATILE = {"_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id", "quarantined_at"}
STAGES = {"fetch": 4, "normalize": 1, "load": 8, "commit": 1, "swap": 1}
MALFORMED = (
    {"last_seen_at": -1},
    {"last_seen_at": "2026-01-01"},
    {"last_seen_at": 1_763_500_000_000},
    {"custom_attributes": {"Stripe Subscriptions": "sub_1"}},
    {"custom_attributes": {"stripe_plan_price": 10**30}},
    {"email": "nul\x00byte@example.com"},
)


class Target:
    """A fresh warehouse of one kind and the environment that points gtm at it."""

    def __init__(self, kind: str, workdir: Path, sandbox_url: str) -> None:
        self.kind, self.workdir, self.database = kind, workdir, None
        workdir.mkdir(parents=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GTM_WAREHOUSE": kind,
            "GTM_PIPELINES_DIR": str(workdir / "pipelines"),
            "GTM_SOURCES": "intercom",
            "SOURCES__INTERCOM__BASE_URL": f"{sandbox_url}/intercom",
            "SOURCES__INTERCOM__ACCESS_TOKEN": TOKEN,
            "SOURCES__INTERCOM__TIMEOUT": "10",
            "DO_NOT_TRACK": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
        if kind == "duckdb":
            self.env["GTM_DUCKDB_PATH"] = str(workdir / "gtm.duckdb")
        else:
            import psycopg2

            self.database = f"gtm_chaos_{uuid.uuid4().hex[:10]}"
            admin = psycopg2.connect(PG_ADMIN_URL)
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f'create database "{self.database}"')
            admin.close()
            parts = urlsplit(PG_ADMIN_URL)
            self.env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{self.database}"))

    def gtm(self, *args: str, kill: tuple[str, int] | None = None) -> subprocess.Popen[str]:
        prefix = [str(KILL_AT), kill[0], str(kill[1])] if kill else ["-m", "gtm.cli"]
        return subprocess.Popen(
            [sys.executable, *prefix, *args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def raw_data(self) -> dict[str, list[tuple[Any, ...]]]:
        tables_sql = (
            "select table_name from information_schema.tables where table_schema = 'raw_intercom'"
            " and table_name not like '\\_dlt%' escape '\\'"
        )
        data = {}
        for (table,) in self._query(tables_sql):
            rows = self._query(f'select * from raw_intercom."{table}"', names=True)
            data[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in row.items() if k not in VOLATILE)) for row in rows
            )
        return data

    def _query(self, sql: str, names: bool = False) -> list[Any]:
        if self.kind == "duckdb":
            import duckdb

            connection = duckdb.connect(self.env["GTM_DUCKDB_PATH"], read_only=True)
        else:
            import psycopg2

            connection = psycopg2.connect(self.env["DATABASE_URL"])
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            columns = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
        finally:
            connection.close()
        return [dict(zip(columns, row, strict=True)) for row in rows] if names else rows

    def drop(self) -> None:
        if self.database:
            import psycopg2

            admin = psycopg2.connect(PG_ADMIN_URL)
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f'drop database if exists "{self.database}" with (force)')
            admin.close()


def control(url: str, method: str, path: str, body: Any = None) -> None:
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).read()


def schedule(rng: random.Random, steps: int) -> list[tuple[str, Any]]:
    """A random list of (kind, argument) steps."""
    kinds = ["kill", "kill_full", "overlap", "http_faults", "malformed", "change", "sync"]
    plan = []
    for _ in range(steps):
        kind = rng.choice(kinds)
        if kind in ("kill", "kill_full"):
            stages = [s for s in STAGES if kind == "kill_full" or s != "swap"]
            stage = rng.choice(stages)
            plan.append((kind, (stage, rng.randint(1, STAGES[stage]))))
        elif kind == "http_faults":
            plan.append(
                (kind, {"path_prefix": "/intercom/", "status": rng.choice([429, 500, 503]), "count": 2})
            )
        elif kind == "malformed":
            plan.append((kind, rng.choice(MALFORMED)))
        elif kind == "change":
            plan.append((kind, rng.randint(0, 59)))
        else:
            plan.append((kind, None))
    return plan


def run_schedule(kind: str, number: int, rng: random.Random, base: Path) -> str | None:
    """One schedule; a one-line description of the difference from a clean run, or None."""
    server = start_in_thread(customers=60, seed=rng.randint(1, 10_000), token=TOKEN, rate_limit=1_000_000)
    url = server.base_url
    chaos = Target(kind, base / f"{kind}-{number}-chaos", url)
    clean = None
    plan = schedule(rng, rng.randint(2, 5))
    try:
        chaos.gtm("sync").wait()
        for step, argument in plan:
            if step == "kill":
                chaos.gtm("sync", kill=argument).wait()
            elif step == "kill_full":
                chaos.gtm("sync", "--full", kill=argument).wait()
            elif step == "overlap":
                first = chaos.gtm("sync")
                time.sleep(rng.uniform(0.05, 0.6))
                second = chaos.gtm("sync")
                _, second_err = second.communicate()
                first.wait()
                if second.returncode not in (0, 1):
                    return f"overlapping sync exited {second.returncode}: {second_err.strip()[-200:]}"
            elif step == "http_faults":
                control(url, "POST", "faults", argument)
                chaos.gtm("sync").wait()
                control(url, "DELETE", "faults")
            elif step == "malformed":
                control(url, "POST", "intercom/contacts", {"email": f"bad{rng.random()}@x.com", **argument})
            elif step == "change":
                contact_id = server.company.contact_id(argument)
                control(url, "POST", f"intercom/contacts/{contact_id}", {"name": f"Renamed {rng.random()}"})
            else:
                chaos.gtm("sync").wait()
        final = chaos.gtm("sync")
        _, final_err = final.communicate()
        if final.returncode != 0:
            return f"recovery sync exited {final.returncode}: {final_err.strip()[-200:]}"
        clean = Target(kind, base / f"{kind}-{number}-clean", url)
        clean_run = clean.gtm("sync")
        _, clean_err = clean_run.communicate()
        if clean_run.returncode != 0:
            return f"clean sync exited {clean_run.returncode}: {clean_err.strip()[-200:]}"
        got, want = chaos.raw_data(), clean.raw_data()
        if got != want:
            tables = sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))
            return f"raw data differs in {', '.join(tables)} after {plan}"
        return None
    finally:
        server.shutdown()
        server.server_close()
        chaos.drop()
        if clean:
            clean.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warehouse", action="append", choices=["duckdb", "postgres"])
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    failed = False
    with tempfile.TemporaryDirectory(prefix="gtm-chaos-") as tmp:
        for kind in args.warehouse or ["duckdb", "postgres"]:
            rng = random.Random(f"{seed}-{kind}")
            differences, started = 0, time.monotonic()
            for number in range(args.runs):
                problem = run_schedule(kind, number, rng, Path(tmp))
                if problem:
                    differences += 1
                    print(f"  {kind} schedule {number}: {problem}", file=sys.stderr)
            failed |= differences > 0
            print(
                f"{kind}: {args.runs} schedules, {differences} differences from a clean run "
                f"(seed {seed}, {time.monotonic() - started:.0f}s)"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
