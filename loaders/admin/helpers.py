"""Pure functions of the product-database loader: the effective mapping, column renames, scan timing."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from loaders.admin.settings import DEFAULT_TABLES


def resolve_mapping(overrides: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The default mapping with the configured overrides applied (a role's `table` and any of its
    `columns`); an unknown role or canonical column is a ValueError naming it."""
    mapping = copy.deepcopy(DEFAULT_TABLES)
    for role, spec in (overrides or {}).items():
        if role not in mapping:
            raise ValueError(f"unknown product table role {role!r}; known: {', '.join(mapping)}")
        if not isinstance(spec, Mapping):
            raise ValueError(f"sources.admin.tables.{role} must be a table of settings")
        if spec.get("table"):
            mapping[role]["table"] = str(spec["table"])
        for column, source_column in (spec.get("columns") or {}).items():
            if column not in mapping[role]["columns"]:
                known = ", ".join(mapping[role]["columns"])
                raise ValueError(f"unknown column {column!r} for product table role {role!r}; known: {known}")
            mapping[role]["columns"][column] = str(source_column)
    return mapping


def renamer(columns: Mapping[str, str]) -> Any:
    """Renames source columns to canonical ones: Arrow tables, dict rows and lists of them."""
    to_canonical = {source: canonical for canonical, source in columns.items()}

    def rename(item: Any) -> Any:
        if isinstance(item, list):
            return [rename(row) for row in item]
        if isinstance(item, dict):
            return {to_canonical.get(name, name): value for name, value in item.items()}
        return item.rename_columns([to_canonical.get(name, name) for name in item.column_names])

    return rename


def key_scan_due(last_scan: float | None, now: float, every_hours: float) -> bool:
    """Whether the periodic key scan runs in this sync (first sync: yes)."""
    return last_scan is None or now - last_scan >= every_hours * 3600
