"""The HTTP API and the dashboard against a live `gtm serve` on DuckDB and PostgreSQL: each endpoint's
shape and numbers equal to the marts, filters and paging equal to SQL on the marts, 401/403/404/409/422/503,
keys never in the output, access-log rows, a sync job that runs once under the run lock, and the dashboard
and the `gtm report` file in a real headless chromium (the report with the network off)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_server import (
    CHARTS_JS,
    CHROMEDRIVER,
    CHROMIUM,
    KPIS_JS,
    READ_KEY,
    SYNC_KEY,
    Served,
    browser,
    served_warehouse,
)
from conftest import WAREHOUSES

from gtm.settings import Settings


@pytest.fixture(scope="module", params=WAREHOUSES)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> Iterator[Served]:
    yield from served_warehouse(request, tmp_path_factory, dbt_dirs)


def number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def jsonish(row: dict[str, Any]) -> dict[str, Any]:
    """A warehouse row as the API's JSON shows it (decimals as numbers, dates as ISO strings)."""
    return json.loads(json.dumps({k: number(v) for k, v in row.items()}, default=lambda v: v.isoformat()))


def email_variants(email: str) -> list[str]:
    """The same email as people type it: other case, surrounding spaces."""
    return [email.upper(), f"  {email.title()} ", email]


def access_rows(served: Served, endpoint: str, wanted: int = 1) -> list[dict[str, Any]]:
    """The access-log rows of an endpoint, once there are `wanted` (DuckDB: written within a second)."""
    deadline = time.monotonic() + 15
    while True:
        rows = served.warehouse.query(
            f"select who, endpoint, email_key, status from ops.access_log where endpoint = '{endpoint}'"
        )
        if len(rows) >= wanted or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def settings_of(served: Served) -> Settings:
    saved = dict(os.environ)
    os.environ.update(served.warehouse.env)
    try:
        return Settings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_health_needs_no_key_and_names_the_last_build(served: Served) -> None:
    answer = served.get("/health", key=None)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["warehouse"] == served.warehouse.kind
    built = served.warehouse.query("select max(finished_at) as at from ops.build_log")[0]["at"]
    assert body["last_build_at"] == built.isoformat()
    assert body["as_of_date"] == "2026-11-20"


def test_summary_is_seed_001s_json_from_the_mart(served: Served) -> None:
    body = served.get("/dashboard/summary").json()
    mart = served.warehouse.query("select * from marts.dashboard_summary")[0]
    assert body["currency"] == "USD"
    for column in ("total_customers", "total_mrr", "total_arr", "avg_health_score", "at_risk_count"):
        assert body[column] == number(mart[column]), column
    assert body["critical_count"] == mart["critical_count"]
    for status in ("healthy", "at_risk", "high_risk", "critical"):
        assert body["health_distribution"][status] == {
            "count": mart[f"{status}_customers"],
            "mrr": number(mart[f"{status}_mrr"]),
        }
    assert body["total_customers"] > 0 and body["total_mrr"] > 0
    stages = ("paying", "trialing", "churned", "lead")
    assert body["customers_by_stage"] == {stage: mart[f"customers_{stage}"] for stage in stages}
    unconverted = served.warehouse.query(
        "select currency, scope_native_amount from marts.unconverted_amounts"
        " where amount = 'mrr' and scope_customers > 0"
    )
    assert body["unconverted_mrr_by_currency"] == {
        row["currency"].upper(): number(row["scope_native_amount"]) for row in unconverted
    }


def pages(served: Served, path: str, **params: Any) -> list[dict[str, Any]]:
    rows, cursor, seen = [], None, 0
    while True:
        answer = served.get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == len(body["customers"]) <= params["limit"]
        rows.extend(body["customers"])
        cursor = body["next"]
        seen += 1
        if cursor is None:
            return rows
        assert seen < 200


def test_customer_filters_and_paging_equal_sql_on_the_mart(served: Served) -> None:
    warehouse = served.warehouse
    everyone = pages(served, "/customers", limit=17)
    mart = warehouse.query("select * from marts.unified_customers order by email_key")
    assert [row["email_key"] for row in everyone] == [row["email_key"] for row in mart]
    assert everyone[0] == jsonish(mart[0])

    filtered = pages(served, "/customers", limit=5, min_mrr=1, health_status="healthy")
    expected = warehouse.query(
        "select email_key from marts.unified_customers where mrr >= 1 and health_status = 'healthy'"
        " order by email_key"
    )
    assert [r["email_key"] for r in filtered] == [r["email_key"] for r in expected]
    assert len(expected) > 5, "the sandbox has several healthy paying customers"

    paying = pages(served, "/customers", limit=50, stage="paying")
    expected = warehouse.query(
        "select email_key from marts.unified_customers where customer_stage = 'paying' order by email_key"
    )
    assert [r["email_key"] for r in paying] == [r["email_key"] for r in expected] != []

    am = warehouse.query(
        "select assigned_am, count(*) as n from marts.unified_customers where assigned_am is not null"
        " group by assigned_am order by n desc, assigned_am limit 1"
    )[0]
    by_am = pages(served, "/customers", limit=500, assigned_am=f" {am['assigned_am'].upper()} ")
    assert len(by_am) == am["n"] and {r["assigned_am"] for r in by_am} == {am["assigned_am"]}


def test_bad_parameters_are_one_line_json_errors(served: Served) -> None:
    for params in (
        {"limit": 501},
        {"limit": 0},
        {"health_status": "sick"},
        {"stage": "x"},
        {"cursor": "%%%"},
    ):
        answer = served.get("/customers", **params)
        assert answer.status_code == 422, params
        assert set(answer.json()) == {"error"} and answer.json()["error"]["code"] == "invalid_request"
    missing = served.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert "Traceback" not in served.output()


def test_at_risk_list_is_the_mart_in_rank_order_with_its_top_action(served: Served) -> None:
    rows = pages(served, "/customers/at-risk", limit=9)
    mart = served.warehouse.query("select * from marts.at_risk_customers order by risk_rank")
    assert [jsonish(row) for row in mart] == rows
    assert any(row["recommended_action"] and row["action_owner"] for row in rows)


def test_by_email_ignores_case_and_spaces_and_is_audited(served: Served) -> None:
    contact = next(c for c in served.box.company.contacts() if c.get("email") and c.get("name"))
    key = contact["email"].strip().lower()
    for variant in email_variants(contact["email"]):
        answer = served.get(f"/customers/by-email/{variant}")
        assert answer.status_code == 200, variant
        assert answer.json()["customer"]["name"] == contact["name"]
        assert answer.json()["currency"] == "USD"
    unknown = served.get("/customers/by-email/nobody-at-all@example.invalid")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    log = access_rows(served, "GET /customers/by-email/{email}", wanted=4)
    assert sorted((row["email_key"], row["status"]) for row in log) == sorted(
        [("nobody-at-all@example.invalid", 404), *[(key, 200)] * 3]
    )
    assert {row["who"] for row in log} == {"reader"}


def test_more_concurrent_clients_than_connections_all_get_answers(served: Served) -> None:
    """60 clients at once, more than the server's PostgreSQL connections (GTM_API_POOL_SIZE=2 here) and its 40
    worker threads: requests wait for a connection instead of failing (the pool used to raise "exhausted")."""
    emails = [c["email"] for c in served.box.company.contacts() if c.get("email")][:30]
    paths = [f"/customers/by-email/{email}" for email in emails] + ["/dashboard/summary"] * 30
    start = threading.Barrier(len(paths))

    def call(path: str) -> int:
        start.wait()
        return served.get(path).status_code

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        statuses = list(pool.map(call, paths))
    assert sorted(set(statuses)) in ([200], [200, 404]), statuses
    assert statuses.count(200) >= 30


def test_360_equals_gtm_customer_json_and_both_are_audited(served: Served) -> None:
    top = served.warehouse.query("select email from marts.at_risk_customers order by risk_rank limit 1")[0]
    api = served.get(f"/customers/by-email/{top['email'].upper()}/360").json()
    cli = json.loads(served.warehouse.gtm("customer", top["email"], "--json").stdout)
    assert api == cli
    who = served.warehouse.query(
        "select who from ops.access_log where endpoint = 'gtm customer' and email_key = "
        f"'{top['email'].strip().lower()}'"
    )
    assert who and who[0]["who"] not in ("reader", "operator")
    listed = json.loads(served.warehouse.gtm("audit", "--email", top["email"].upper(), "--json").stdout)
    assert {row["endpoint"] for row in listed} >= {"gtm customer"}


def test_reports_and_revenue_read_their_marts(served: Served) -> None:
    for name in ("weekly_health_summary", "monthly_mrr", "quarterly_churn_risk", "trending_metrics"):
        body = served.get(f"/reports/{name}").json()
        mart = served.warehouse.query(f"select * from marts.report_{name} order by 1, 2")
        assert body["rows"] == [jsonish(row) for row in mart], name
    assert served.get("/reports/unknown").status_code == 404
    revenue = served.get("/revenue/monthly")
    exists = served.warehouse.query(
        "select 1 from information_schema.tables"
        " where table_schema = 'marts' and table_name = 'revenue_monthly'"
    )
    assert revenue.status_code == (200 if exists else 404)


def test_keys_and_scopes(served: Served) -> None:
    for key in (None, "wrong-key", READ_KEY[:-1]):
        answer = served.get("/dashboard/summary", key=key)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    forbidden = served.post("/sync/intercom", key=READ_KEY)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert served.post("/sync/nosuchsource").status_code == 404
    output = served.output()
    assert READ_KEY not in output and SYNC_KEY not in output


def test_docs_and_openapi_work_offline(served: Served) -> None:
    spec = served.get("/openapi.json", key=None).json()
    assert {"/dashboard/summary", "/customers", "/customers/by-email/{email}", "/sync/{source}"} <= set(
        spec["paths"]
    )
    page = served.get("/docs", key=None).text
    assert "/openapi.json" in page and "cdn" not in page.lower() and "https://" not in page


def test_sync_job_runs_once_under_the_run_lock(served: Served) -> None:
    warehouse = served.warehouse
    runs_before = warehouse.query("select count(*) as n from ops.sync_log where source = 'intercom'")[0]["n"]
    builds_before = warehouse.query("select count(*) as n from ops.build_log")[0]["n"]
    started = served.post("/sync/intercom")
    assert started.status_code == 202, started.text
    job = started.json()["job"]
    assert job["status"] == "running" and job["sources"] == ["intercom"]
    again = served.post("/sync/all")
    assert again.status_code == 409 and again.json()["error"]["code"] == "sync_running"
    status = served.get("/sync/status").json()
    assert status["job"]["id"] == job["id"]
    assert status["run_lock_holder"] is None or "API" in status["run_lock_holder"]["command"]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = served.get("/sync/status").json()
        if status["job"] is None:
            break
        time.sleep(1)
    finished = status["recent_jobs"][0]
    assert finished["id"] == job["id"] and finished["status"] == "success", finished
    assert status["run_lock_holder"] is None
    runs = warehouse.query("select count(*) as n from ops.sync_log where source = 'intercom'")[0]["n"]
    assert runs == runs_before + 1
    assert warehouse.query("select count(*) as n from ops.build_log")[0]["n"] == builds_before + 1
    assert served.get("/dashboard/summary").status_code == 200


def test_409_while_another_process_holds_the_run_lock(served: Served) -> None:
    from gtm.lock import run_lock

    with run_lock(settings_of(served), "build --as-of 2026-11-20"):
        answer = served.post("/sync/all")
        assert answer.status_code == 409
        assert "gtm build" in answer.json()["error"]["message"]
    assert served.get("/sync/status").json()["job"] is None


def test_503_with_retry_after_while_a_writer_holds_the_duckdb_file(served: Served) -> None:
    if served.warehouse.kind != "duckdb":
        pytest.skip("PostgreSQL readers do not wait for writers")
    import duckdb

    writer = duckdb.connect(served.warehouse.env["GTM_DUCKDB_PATH"])
    try:
        answer = served.get("/dashboard/summary")
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "warehouse_busy"
        assert int(answer.headers["retry-after"]) > 0
    finally:
        writer.close()
    assert served.get("/dashboard/summary").status_code == 200


def test_dashboard_page_shows_the_mart_numbers(served: Served) -> None:
    assert served.get("/", key=None).status_code == 401  # a sign-in form, no data
    page = served.get("/").text
    mart = served.warehouse.query("select * from marts.dashboard_summary")[0]
    assert f'data-kpi="total_customers" data-value="{mart["total_customers"]}"' in page
    assert "/static/plotly.min.js" in page and "cdn.plot.ly" not in page
    at_risk = access_rows(served, "GET /")
    assert at_risk and all(row["who"] == "reader" for row in at_risk)


requires_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason=f"{CHROMIUM} and {CHROMEDRIVER} are needed (.ci/run installs chromium chromium-driver)",
)


def wait_drawn(driver: Any) -> None:
    """Wait (up to a minute on a busy CI machine) until every chart on the page has drawn marks."""
    from selenium.webdriver.support.ui import WebDriverWait

    def drawn(driver: Any) -> bool:
        charts = driver.execute_script(CHARTS_JS)
        return {chart["id"] for chart in charts} >= {"chart-health", "chart-plans", "chart-trend"} and all(
            chart["marks"] > 0 for chart in charts
        )

    WebDriverWait(driver, 60, poll_frequency=0.2).until(drawn)


def assert_drawn(driver: Any, served: Served) -> None:
    wait_drawn(driver)
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == [], severe
    charts = driver.execute_script(CHARTS_JS)
    assert {chart["id"] for chart in charts} >= {"chart-health", "chart-plans", "chart-trend"}
    for chart in charts:
        assert chart["traces"] > 0 and chart["points"] > 0 and chart["marks"] > 0, chart
    kpis = driver.execute_script(KPIS_JS)
    mart = served.warehouse.query("select * from marts.dashboard_summary")[0]
    for key in ("total_customers", "total_mrr", "total_arr", "avg_health_score", "at_risk_count"):
        assert kpis[key] == number(mart[key]), key
    rows = driver.execute_script("return document.querySelectorAll('#at-risk-table tbody tr').length")
    expected = served.warehouse.query("select count(*) as n from marts.at_risk_customers")[0]["n"]
    assert rows == min(expected, 25)


@requires_chromium
def test_dashboard_in_a_real_browser(served: Served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        driver.get(served.url + "/")
        driver.get_log("browser")  # the sign-in page answers 401: expected, not an error of the dashboard
        driver.find_element(By.ID, "key").send_keys(READ_KEY)
        driver.find_element(By.ID, "sign-in").click()
        assert_drawn(driver, served)
        driver.get(served.url + "/docs")
        WebDriverWait(driver, 60, poll_frequency=0.2).until(
            lambda driver: "/dashboard/summary" in driver.find_element(By.ID, "ops").text
        )
    finally:
        driver.quit()


@requires_chromium
def test_report_file_opens_offline_in_a_real_browser(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    served.warehouse.gtm("report", "--out", str(out))
    html = out.read_text()
    assert "<script src=" not in html  # plotly inlined; the browser below has no network at all
    driver = browser(offline=True)
    try:
        driver.get(out.as_uri())
        assert_drawn(driver, served)
    finally:
        driver.quit()
    assert access_rows(served, "gtm report")
