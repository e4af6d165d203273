"""A built warehouse of one kind and a live `gtm serve` subprocess over it, for the API, dashboard and browser
tests. Built once per module and kind: the sandbox company (Intercom, HubSpot, Calendly) synced and built."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import AS_OF, PROJECT_DIR, TOKEN, Sandbox, Warehouse, _drop_postgres_database, new_warehouse
from test_phase2_e2e import crm_env

READ_KEY = "read-key-5e0c1d7a9b"
SYNC_KEY = "sync-key-c4f2a8e61d"
KEYS = f"reader:{READ_KEY};operator:{SYNC_KEY}:read,sync"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """`gtm serve` running over a warehouse."""

    warehouse: Warehouse
    box: Sandbox
    process: subprocess.Popen[str]
    url: str
    log: Path

    def get(self, path: str, key: str | None = READ_KEY, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(f"{self.url}{path}", headers=headers, params=params, timeout=60)

    def post(self, path: str, key: str | None = SYNC_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{self.url}{path}", headers=headers, timeout=60)

    def output(self) -> str:
        return self.log.read_text()


def start_server(warehouse: Warehouse, box: Sandbox, workdir: Path) -> Served:
    port = free_port()
    log = workdir / "serve.log"
    handle = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gtm.cli", "serve", "--port", str(port)],
        cwd=warehouse.workdir,
        env={
            **os.environ,
            **warehouse.env,
            "GTM_API_KEYS": KEYS,
            "PYTHONPATH": str(PROJECT_DIR),
            # two PostgreSQL connections for all requests: every test also shows requests queue for one
            "GTM_API_POOL_SIZE": "2",
        },
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return Served(warehouse, box, process, url, log)
        except httpx.TransportError:
            time.sleep(0.3)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"gtm serve did not start:\n{log.read_text()}")


def stop_server(served: Served) -> None:
    served.process.send_signal(signal.SIGINT)
    try:
        served.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        served.process.kill()


def served_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Served]:
    """Module fixture body: sandbox -> sync -> build on the kind of request.param, then `gtm serve`."""
    kind = request.param
    workdir = tmp_path_factory.mktemp(f"api-{kind}")
    box = Sandbox(customers=150, seed=11, token=TOKEN, anchor=AS_OF)
    warehouse, database = new_warehouse(kind, workdir, dbt_dirs)
    try:
        warehouse.env.update(crm_env(box))
        warehouse.gtm("sync")
        warehouse.gtm("build")
        served = start_server(warehouse, box, workdir)
        try:
            yield served
        finally:
            stop_server(served)
    finally:
        box.close()
        if database:
            _drop_postgres_database(database)


def browser(offline: bool = False) -> Any:
    """Headless Debian chromium through chromedriver, with a fresh profile and no background traffic."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tempfile.mkdtemp(prefix='gtm-chromium-')}",
        "--window-size=1400,2400",
    ):
        options.add_argument(flag)
    if offline:
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    if offline:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
    return driver


# Per chart: how many traces it has, and how many drawn marks (bars, points, cells) plotly put in the SVG.
CHARTS_JS = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    id: gd.id,
    traces: (gd.data || []).length,
    points: (gd.data || []).reduce((n, t) => n + ((t.y || t.z || []).length), 0),
    marks: gd.querySelectorAll('.point, .trace path, .hm, image').length,
}));
"""
KPIS_JS = """
return Object.fromEntries(Array.from(document.querySelectorAll('[data-kpi]')).map(
    e => [e.dataset.kpi, JSON.parse(e.dataset.value)]));
"""
