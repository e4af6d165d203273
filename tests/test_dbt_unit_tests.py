"""dbt's unit tests, on both warehouses. `gtm build` leaves them out (dbt's advice for production runs), so
this is where they run: every model built empty (`--empty`: their columns and types are what the unit tests
need), then every unit test against its given rows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, Warehouse, dbt_cli

from gtm.build import ensure_profile


def dbt(warehouse: Warehouse, *args: str) -> subprocess.CompletedProcess[str]:
    ensure_profile(PROJECT_DIR)
    return dbt_cli(PROJECT_DIR, *args, env=warehouse.env)


def run_results(warehouse: Warehouse) -> list[dict]:
    path = Path(warehouse.env["DBT_TARGET_PATH"]) / "run_results.json"
    return json.loads(path.read_text())["results"]


def test_every_unit_test_passes(warehouse: Warehouse) -> None:
    result = dbt(warehouse, "build", "--empty", "--exclude-resource-type", "test")
    assert result.returncode == 0, result.stdout[-3000:]
    units = [r for r in run_results(warehouse) if r["unique_id"].startswith("unit_test.")]
    manifest = json.loads((Path(warehouse.env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    assert len(units) == len(manifest["unit_tests"]) >= 30
    assert {r["status"] for r in units} == {"pass"}, [r for r in units if r["status"] != "pass"]


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True)
def test_a_unit_test_fails_when_the_rule_changes(warehouse: Warehouse) -> None:
    """The unit tests check the maths: a changed tenure bucket makes its unit test fail."""
    # other vars than every other build of the session: a target folder of its own, so that the shared
    # partial parse (target/partial_parse.msgpack) is not turned into a full parse for the next test
    warehouse.env["DBT_TARGET_PATH"] = str(warehouse.workdir / "target")
    changed = ("--vars", "{tenure_buckets: [[30, 20], [90, 50], [180, 70], [365, 85]]}")
    built = dbt(
        warehouse,
        "build",
        "--empty",
        "--select",
        "+int_customers_health_scored",
        "--exclude-resource-type",
        "test",
        "unit_test",
        *changed,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    result = dbt(warehouse, "test", "--select", "int_customers_health_scored,test_type:unit", *changed)
    assert result.returncode != 0
    failed = [r["unique_id"] for r in run_results(warehouse) if r["status"] == "fail"]
    assert "unit_test.gtm.int_customers_health_scored.test_health_component_buckets" in failed
