"""Malformed records arriving in an incremental sync are quarantined exactly as a full sync quarantines
them, and the cursor never passes a record that was neither loaded nor quarantined (issue 8, item 3)."""

from __future__ import annotations

from pathlib import Path

from conftest import AS_OF, TOKEN, Sandbox, Warehouse, _drop_postgres_database, new_warehouse

from loaders.common import value_problem

BAD_CHANGES = {
    0: {"last_seen_at": -1},
    1: {"last_seen_at": "2026-11-01T10:00:00Z"},
    2: {"last_seen_at": 1763500000.5},
    3: {"custom_attributes": {"Stripe Subscriptions": "sub_1, sub_2"}},
    4: {"custom_attributes": {"Stripe Payments": {"id": "p_1"}}},
    5: {"custom_attributes": {"stripe_plan_price": 10**30}},  # failed every sync before
    6: {"email": "nul\x00email@example.com"},  # stripped on PostgreSQL, kept on DuckDB before
    7: {"last_seen_at": 1_763_500_000_000},  # milliseconds
}


def quarantined(warehouse: Warehouse, ids: list[str]) -> dict[str, str]:
    listed = ", ".join(f"'{record_id}'" for record_id in ids)
    rows = warehouse.query(
        f"select record_id, reason from raw_intercom.quarantine where record_id in ({listed})"
    )
    return {row["record_id"]: row["reason"] for row in rows}


def test_incremental_sync_quarantines_like_a_full_sync(
    warehouse: Warehouse, tmp_path: Path, dbt_dirs: Path
) -> None:
    box = Sandbox(customers=120, seed=17, token=TOKEN, anchor=AS_OF)
    full, full_db = new_warehouse(warehouse.kind, tmp_path / "full", dbt_dirs)
    (tmp_path / "full").mkdir(exist_ok=True)
    try:
        warehouse.env.update(box.env())
        full.env.update(box.env())
        warehouse.gtm("sync")
        ids = [box.company.contact_id(index) for index in BAD_CHANGES]
        for index, changes in BAD_CHANGES.items():
            box.control("POST", f"intercom/contacts/{ids[index]}", changes)
        warehouse.gtm("sync")
        # a quarantined record that changes again, still malformed: its entry is replaced, not added to
        box.control("POST", f"intercom/contacts/{ids[0]}", {"name": "Still Broken"})
        warehouse.gtm("sync")
        full.gtm("sync", "--full")
        incremental = quarantined(warehouse, ids)
        entries = warehouse.query(
            "select record_id from raw_intercom.quarantine where record_id is not null"
            " group by record_id having count(*) > 1"
        )
        assert entries == []
        assert set(incremental) == set(ids), incremental  # every bad record: quarantined, with a reason
        assert incremental == quarantined(full, ids)  # the same reasons as the full path
        assert "last_seen_at" in incremental[ids[0]] and "Stripe Subscriptions" in incremental[ids[3]]
        assert "64-bit" in incremental[ids[5]] and "NUL" in incremental[ids[6]]
        assert "milliseconds" in incremental[ids[7]]
        # the loaded rows of those contacts are still the ones before the bad change, never a broken row
        listed = ", ".join(f"'{record_id}'" for record_id in ids)
        rows = warehouse.query(f"select id, last_seen_at from raw_intercom.contacts where id in ({listed})")
        assert all(row["last_seen_at"] is None or int(row["last_seen_at"]) >= 0 for row in rows)
        # a later sync loses nothing: beside the five (their last good version kept by the incremental
        # merge, absent after a full load), both warehouses hold the same contacts
        warehouse.gtm("sync")
        others = f"select id from raw_intercom.contacts where id not in ({listed}) order by id"
        assert warehouse.query(others) == full.query(others)
        other_bad = full.query(
            "select count(distinct record_id) as n from raw_intercom.quarantine"
            f" where entity = 'contacts' and record_id not in ({listed})"
        )[0]["n"]
        assert len(full.query(others)) == box.company.contact_count - len(ids) - other_bad
    finally:
        box.close()
        if full_db:
            _drop_postgres_database(full_db)


def test_value_problem_names_the_field() -> None:
    assert value_problem({"a": {"b": [1, 2**64]}}) == "a.b[1] exceeds the 64-bit integer range"
    assert value_problem({"email": "x\x00@y"}) == "email contains a NUL byte"
    assert value_problem({"n": float("nan")}) == "n is not a finite number"
    assert value_problem({"n": -(2**63), "s": "ok", "f": 1.5, "b": True}) is None
