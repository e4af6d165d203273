"""`gtm build` as an operator sees it: a short summary instead of dbt's log, dbt's output on --verbose, the
failing tests named, dbt run in-process with partial parsing kept across as-of dates, and --vars."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import TOKEN, Sandbox, Warehouse

pytestmark = pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)


def test_build_summary_verbose_partial_parse_and_failures(warehouse: Warehouse, sandbox: Sandbox) -> None:
    warehouse.gtm("sync", env=sandbox.env())

    built = warehouse.gtm("build", env={"DBT_WRITE_JSON": "true"})  # dbt's JSON artifacts, on request
    summary = [line for line in built.stderr.splitlines() if line.startswith("dbt build:")]
    assert len(summary) == 1, built.stderr
    target = Path(warehouse.env["DBT_TARGET_PATH"])
    manifest = json.loads((target / "manifest.json").read_text())
    manifest_tests = sum(n["resource_type"] == "test" for n in manifest["nodes"].values())
    models = sum(n["resource_type"] == "model" for n in manifest["nodes"].values())
    # every model and data test ran, none of dbt's unit tests (they run in tests/test_dbt_unit_tests.py)
    assert f"{models} models" in summary[0]
    assert f"{manifest_tests} tests: {manifest_tests} passed, 0 warned, 0 failed" in summary[0]
    assert len(built.stdout.splitlines() + built.stderr.splitlines()) <= 3
    assert "\x1b[" not in built.stdout + built.stderr  # no colour codes into a pipe or a cron log
    log = Path(warehouse.env["DBT_LOG_PATH"]) / "dbt.log"
    assert "Finished running" in log.read_text()  # dbt's info log is kept
    # the marts carry their descriptions as comments (BI tools show them); staging does not pay for them
    comments = warehouse.query(
        "select schema_name, table_name, comment from duckdb_tables() where table_name = 'unified_customers'"
        " union all select schema_name, view_name, comment from duckdb_views()"
        " where view_name = 'stg_intercom__contacts'"
    )
    by_schema = {row["schema_name"]: row["comment"] for row in comments}
    assert by_schema["marts"] and by_schema["staging"] is None, comments
    health = warehouse.query(
        "select comment from duckdb_columns()"
        " where table_name = 'unified_customers' and column_name = 'health_score'"
    )
    assert health == [{"comment": "health_base minus penalties, clamped to 0..100, rounded half-up."}]

    # `gtm run` builds and then alerts from the same process: the warehouse is free again after dbt
    artifacts = [target / "manifest.json", target / "run_results.json"]
    for path in artifacts:
        path.unlink()
    ran = warehouse.gtm("run", env=sandbox.env())
    assert "dbt build: " in ran.stderr and "0 failed" in ran.stderr
    assert not any(path.exists() for path in artifacts)  # unless asked, a build writes no JSON artifacts

    # a new as-of date reuses the parsed project: no file is parsed again
    logged = len(log.read_text())
    again = warehouse.gtm("build", "--as-of", "2026-11-21", "--verbose")
    parsing = [line.split("] ", 1)[1] for line in log.read_text()[logged:].splitlines() if "parsing" in line]
    assert parsing == [
        "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed.",
        "Partial parsing enabled, no changes found, skipping parsing",
    ]
    assert "Finished running" in again.stdout + again.stderr  # --verbose shows dbt's output
    dates = warehouse.query("select distinct as_of_date from marts.customer_health_history order by 1")
    assert [str(row["as_of_date"]) for row in dates] == ["2026-11-20", "2026-11-21"]

    # --vars reaches dbt: every customer is healthy from a score of 0 once no signal caps the status
    warehouse.gtm("build", "--vars", "{health_status_healthy_min: 0, health_status_cap_severities: []}")
    statuses = warehouse.query("select distinct health_status from marts.unified_customers")
    assert [row["health_status"] for row in statuses] == ["healthy"]
    bad = warehouse.gtm("build", "--vars", "{health_status_healthy_min: [", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("gtm: error: --vars is not a YAML or JSON object")

    # a failing data test: named in the summary and in the one error line, exit 1, no secret
    with duckdb.connect(warehouse.env["GTM_DUCKDB_PATH"]) as connection:
        connection.execute("insert into raw_intercom.contacts select * from raw_intercom.contacts limit 1")
    failed = warehouse.gtm("build", check=False, env={"SOURCES__INTERCOM__ACCESS_TOKEN": TOKEN})
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if line.startswith("gtm: error:")]
    assert len(errors) == 1 and "column_rules_stg_intercom__contacts" in errors[0], failed.stderr
    # the one test of the model's column rules names the broken rule and how many values break it
    assert "  failed: column_rules_stg_intercom__contacts (unique(contact_id): 1)" in failed.stderr
    assert "Traceback" not in failed.stderr and TOKEN not in failed.stdout + failed.stderr
