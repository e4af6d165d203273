"""The lean DuckDB view and table materializations (dbt_project/macros/materializations/duckdb_lean.sql) in a
small dbt project of their own: a table is replaced in one statement, an enforced contract still checks the
query's columns and the declared constraints, and a model that fails keeps the relation it had."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import PROJECT_DIR, dbt_cli

PROJECT = """
name: lean
version: "1.0.0"
config-version: 2
profile: lean
macro-paths: [macros]
model-paths: [models]
flags: {send_anonymous_usage_stats: false}
"""

PROFILE = """
lean:
  target: duckdb
  outputs:
    duckdb: {{type: duckdb, path: "{path}", threads: 1}}
"""

MODELS = """
version: 2
models:
  - name: contracted
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer, constraints: [{type: not_null}]}
      - {name: name, data_type: varchar, constraints: [{type: not_null}]}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "macros").mkdir()
    shutil.copy(PROJECT_DIR / "dbt_project/macros/materializations/duckdb_lean.sql", tmp_path / "macros")
    models = tmp_path / "models"
    models.mkdir()
    (models / "_models.yml").write_text(MODELS)
    (models / "plain.sql").write_text("{{ config(materialized='table') }} select {{ var('n', 1) }} as id")
    (models / "contracted.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select {{ var('id', 1) }} as id, {{ var('name', \"'a'\") }} as name"
    )
    (models / "switched.sql").write_text("{{ config(materialized=var('kind', 'view')) }} select 7 as x")
    (tmp_path / "dbt_project.yml").write_text(PROJECT)
    (tmp_path / "profiles.yml").write_text(PROFILE.format(path=tmp_path / "lean.duckdb"))
    return tmp_path


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return dbt_cli(project, "run", *args)


def rows(project: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(project / "lean.duckdb"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_tables_replace_in_place_and_a_failed_model_keeps_its_table(project: Path) -> None:
    first = dbt(project)
    assert first.returncode == 0, first.stdout[-2000:]
    assert rows(project, "select * from main.contracted") == [(1, "a")]
    assert rows(
        project, "select table_type from information_schema.tables where table_name = 'switched'"
    ) == [("VIEW",)]

    # a new run replaces the rows; a view whose model became a table is replaced by the table
    again = dbt(project, "--vars", "{n: 2, id: 2, kind: table}")
    assert again.returncode == 0, again.stdout[-2000:]
    assert rows(project, "select * from main.plain") == [(2,)]
    assert rows(project, "select * from main.contracted") == [(2, "a")]
    assert rows(
        project,
        "select table_type, (select x from main.switched) from information_schema.tables"
        " where table_name = 'switched'",
    ) == [("BASE TABLE", 7)]
    # no table left behind under another name
    assert sorted(r[0] for r in rows(project, "select table_name from information_schema.tables")) == [
        "contracted",
        "plain",
        "switched",
    ]

    # the declared constraint holds: a null name fails the model, which keeps its table and rows
    broken = dbt(project, "--select", "contracted", "--vars", "{id: 3, name: 'cast(null as varchar)'}")
    assert broken.returncode == 1 and "NOT NULL constraint failed" in broken.stdout, broken.stdout[-2000:]
    assert rows(project, "select * from main.contracted") == [(2, "a")]

    # the contract's column check runs first: a query of other columns fails before anything is replaced
    renamed = dbt(project, "--select", "contracted", "--vars", "{id: \"'x'\"}")
    assert renamed.returncode == 1 and "contract" in renamed.stdout.lower(), renamed.stdout[-2000:]
    assert rows(project, "select * from main.contracted") == [(2, "a")]
