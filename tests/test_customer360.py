"""`gtm customer` end to end on DuckDB and PostgreSQL: sandbox customers chosen from the marts for every exit
state, their 360 JSON checked field by field against the marts; health trends against the stored history;
a rebuild for a past as-of date reproduces the stored history rows."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, WAREHOUSES, Warehouse
from history_warehouse import MONTH_AGO, WEEK_AGO, HistoryWarehouse, history_rows, history_warehouse

EXIT_STATES = [
    "at_risk",
    "escalation_required",
    "expansion_ready",
    "renewal_focus",
    "attention_needed",
    "healthy",
]


@pytest.fixture(scope="module", params=WAREHOUSES)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dbt_dirs: Path
) -> HistoryWarehouse:
    return history_warehouse(request, tmp_path_factory, dbt_dirs)


def number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def pick(warehouse: Warehouse, state: str) -> dict[str, Any]:
    """The highest-MRR customer of marts.customer_exit_states in this exit state."""
    rows = warehouse.query(
        "select customers.* from marts.unified_customers as customers"
        " inner join marts.customer_exit_states as states on customers.email_key = states.email_key"
        f" where states.exit_state = '{state}'"
        " order by coalesce(customers.mrr, 0) desc, customers.email_key limit 1"
    )
    assert rows, f"no sandbox customer in exit state {state}"
    return rows[0]


@pytest.mark.parametrize("state", EXIT_STATES)
def test_360_json_matches_the_marts_field_by_field(built: HistoryWarehouse, state: str) -> None:
    warehouse = built.warehouse
    row = pick(warehouse, state)
    key = row["email_key"]
    view = json.loads(warehouse.gtm("customer", f"  {row['email'].upper()} ", "--json").stdout)
    exit_row = warehouse.query(f"select * from marts.customer_exit_states where email_key = '{key}'")[0]
    assert (view["exitState"], view["exitReason"]) == (state, exit_row["exit_state_reason"])
    assert (view["accountId"], view["asOfDate"]) == (key, AS_OF.isoformat())
    assert (view["email_key"], view["intercom_contact_id"]) == (key, row["intercom_contact_id"])

    profile = view["accountProfile"]
    assert (profile["name"], profile["email"], profile["plan"]) == (
        row["name"],
        row["email"],
        row["plan_name"],
    )
    assert (profile["arr"], profile["customerSince"]) == (number(row["arr"]), iso(row["signup_date"]))
    assert profile["contractEnd"] == iso(row["next_renewal_date"])

    health = view["healthSummary"]
    assert (health["overallScore"], health["status"], health["churnRisk"]) == (
        row["health_score"],
        row["health_status"],
        row["churn_risk"],
    )
    assert (health["trend"], health["trendDelta"], health["trendDelta30d"]) == (
        row["health_trend"],
        row["health_delta_7d"],
        row["health_delta_30d"],
    )
    trends = {
        t["dimension"]: t
        for t in warehouse.query(f"select * from marts.customer_health_trends where email_key = '{key}'")
    }
    assert health["trend30d"] == trends["overall"]["trend_30d"]
    for name, cell in health["dimensions"].items():
        assert cell["score"] == number(row[f"{name}_score"]), name
        assert cell["weight"] == row[f"{name}_weight_applied"], name
        assert cell["contribution"] == number(row[f"{name}_contribution"]), name
        assert (cell["trend"], cell["delta7d"]) == (trends[name]["trend"], number(trends[name]["delta_7d"]))
        assert (cell["trend30d"], cell["delta30d"]) == (
            trends[name]["trend_30d"],
            number(trends[name]["delta_30d"]),
        )
    penalties = {
        k: row[f"penalty_{k}"] for k in ("cancel_mention", "delinquent", "inactive", "open_priority_ticket")
    }
    assert health["penalties"] == {k: v for k, v in penalties.items() if v}

    support = view["supportSummary"]
    assert (support["openTickets"], support["ticketsTotal"], support["ticketsLast30Days"]) == (
        row["open_tickets"],
        row["intercom_convos_total"],
        row["intercom_convos_30d"],
    )
    assert (support["csat"], support["mentionedCancel"]) == (
        number(row["csat_score"]),
        row["mentioned_cancel"],
    )
    assert (support["activeEscalation"] is not None) == row["has_open_priority_ticket"]
    assert view["engagementSummary"]["daysSinceContact"] == row["days_since_seen"]
    assert view["usageSummary"]["available"] is False and "phase 3" in view["usageSummary"]["note"]

    relationship = view["relationshipSummary"]
    assert [
        relationship[k] for k in ("accountManager", "callsHeld90d", "callNoShows90d", "daysSinceLastCall")
    ] == [
        row["assigned_am"],
        row["calls_held_90d"],
        row["call_no_shows_90d"],
        row["days_since_last_call"],
    ]
    assert relationship["pipeline"]["openDealValue"] == number(row["open_deal_value"])

    commercial = view["commercialSummary"]
    assert [commercial[k] for k in ("mrr", "arr", "ltv", "subscriptionCount")] == [
        number(row["mrr"]),
        number(row["arr"]),
        number(row["ltv"]),
        row["subscription_count"],
    ]
    assert commercial["billing"] == {
        "status": row["subscription_status"],
        "isDelinquent": row["is_delinquent"],
        "lastPayment": iso(row["last_payment_date"]),
        "lastPaymentAmount": number(row["last_payment_amount"]),
    }
    assert commercial["contract"] == {
        "renewalDate": iso(row["next_renewal_date"]),
        "daysToRenewal": row["days_to_renewal"],
    }

    signals = warehouse.query(
        "select signal, severity, detail, recommended_action from marts.customer_risk_signals"
        f" where email_key = '{key}' order by severity_rank desc, signal"
    )
    from_signals = [i for i in view["riskIndicators"] if i["type"] in {s["signal"] for s in signals}]
    assert [(i["type"], i["severity"], i["signal"], i["recommendation"]) for i in from_signals] == [
        (s["signal"], s["severity"], s["detail"], s["recommended_action"]) for s in signals
    ]
    assert sorted(s["signal"] for s in signals) == sorted(filter(None, row["risk_signals"].split(",")))

    actions = view["recommendedActions"]
    mart_actions = warehouse.query(
        f"select * from marts.customer_actions where email_key = '{key}' order by action_rank"
    )
    assert [(a["priority"], a["reason"], a["action"], a["dueDate"]) for a in actions] == [
        (m["action_rank"], m["reason"], m["recommended_action"], iso(m["due_date"])) for m in mart_actions
    ]
    assert all(a["owner"] for a in actions) and len(actions) <= 5
    if state == "healthy":
        assert view["riskIndicators"] == []

    columns = set(row)
    for sentence in view["narrative"]:
        assert all(
            c in columns or c.startswith(("customer_risk_signals.", "customer_opportunities."))
            for c in sentence["columns"]
        )
    assert view["keyNarrative"] == " ".join(s["text"] for s in view["narrative"])
    assert view["keyNarrative"].startswith(row["name"])

    assert view["dataCompleteness"] == row["data_quality_score"] / 100
    intercom = next(s for s in view["dataSources"] if s["source"] == "intercom")
    assert intercom["matched"] is True and intercom["lastSync"] == iso(row["last_intercom_sync"])


def test_terminal_view_is_laid_out_for_a_person(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    row = pick(warehouse, "at_risk")
    result = warehouse.gtm("customer", row["email"])
    for text in (
        "Customer 360",
        row["name"],
        "exit state at_risk",
        "Recommended actions",
        "No product usage data",
    ):
        assert text in result.stdout, text
    missing = warehouse.gtm("customer", "nobody@nowhere.example", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "gtm: error: no customer with email 'nobody@nowhere.example'"


def test_health_trend_columns_equal_the_history_deltas(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    now = {r["email_key"]: r for r in history_rows(warehouse, AS_OF)}
    week_ago = {r["email_key"]: r for r in history_rows(warehouse, WEEK_AGO)}
    month_ago = {r["email_key"]: r for r in history_rows(warehouse, MONTH_AGO)}
    assert week_ago, "the backfill should have stored the history of a week ago"
    trends: dict[str, int] = {}
    for row in warehouse.query(
        "select email_key, health_score, health_delta_7d, health_delta_30d, health_trend"
        " from marts.unified_customers"
    ):
        key = row["email_key"]
        assert row["health_score"] == now[key]["health_score"]
        delta = row["health_score"] - week_ago[key]["health_score"] if key in week_ago else None
        assert row["health_delta_7d"] == delta, key
        expected = (
            "insufficient_history"
            if delta is None
            else "improving"
            if delta >= 5
            else "declining"
            if delta <= -5
            else "stable"
        )
        assert row["health_trend"] == expected, key
        month_delta = row["health_score"] - month_ago[key]["health_score"] if key in month_ago else None
        assert row["health_delta_30d"] == month_delta, key
        trends[expected] = trends.get(expected, 0) + 1
    assert {"stable", "declining"} <= set(trends), trends


def test_a_past_as_of_rebuild_equals_the_stored_history(built: HistoryWarehouse) -> None:
    # The first build stored AS_OF's rows; `gtm backfill` then built two earlier dates and rebuilt AS_OF.
    assert built.history_before_backfill
    assert history_rows(built.warehouse, AS_OF) == built.history_before_backfill
