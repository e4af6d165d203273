"""`gtm customer` end to end on DuckDB and PostgreSQL: sandbox customers chosen from the marts for every exit
state, their 360 JSON checked field by field against the marts; health trends against the stored history;
a rebuild for a past as-of date reproduces the stored history rows."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, WAREHOUSES, Warehouse
from history_warehouse import MONTH_AGO, WEEK_AGO, HistoryWarehouse, history_rows, history_warehouse

from gtm.customer360 import DUE_DAYS, Facts, build_view

# The exit-state rules of docs/customer-360.md as SQL over the marts, first match wins.
EXIT_STATE_SQL = """
    case
        when health_score < 60 or mentioned_cancel then 'at_risk'
        when has_open_priority_ticket then 'escalation_required'
        when health_score > 75 and (subscription_count >= 2 or subscription_status = 'trialing')
            then 'expansion_ready'
        when days_to_renewal between 0 and 90 then 'renewal_focus'
        when risk_signals != '' or health_status != 'healthy' or health_trend = 'declining'
            then 'attention_needed'
        else 'healthy'
    end
"""
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


def classified(warehouse: Warehouse) -> dict[str, str]:
    rows = warehouse.query(f"select email_key, {EXIT_STATE_SQL} as exit_state from marts.unified_customers")
    return {row["email_key"]: row["exit_state"] for row in rows}


def pick(warehouse: Warehouse, state: str) -> dict[str, Any]:
    rows = warehouse.query(
        f"select * from marts.unified_customers where {EXIT_STATE_SQL} = '{state}'"
        " order by coalesce(mrr, 0) desc, email_key limit 1"
    )
    assert rows, f"no sandbox customer in exit state {state}"
    return rows[0]


def test_every_customers_exit_state_follows_the_documented_rules(built: HistoryWarehouse) -> None:
    warehouse = built.warehouse
    customers = warehouse.query("select * from marts.unified_customers")
    signals: dict[str, list[dict[str, Any]]] = {}
    for row in warehouse.query(
        "select email_key, signal, severity, detail, recommended_action, action_owner"
        " from marts.customer_risk_signals order by severity_rank desc, signal"
    ):
        signals.setdefault(row.pop("email_key"), []).append(row)
    expected = classified(warehouse)
    states = {}
    for row in customers:
        view = build_view(Facts(row, signals.get(row["email_key"], [])))
        states[row["email_key"]] = view["exitState"]
        assert len(view["recommendedActions"]) <= 5
    assert states == expected
    assert set(states.values()) == set(EXIT_STATES), "the sandbox should reach every exit state"


@pytest.mark.parametrize("state", EXIT_STATES)
def test_360_json_matches_the_marts_field_by_field(built: HistoryWarehouse, state: str) -> None:
    warehouse = built.warehouse
    row = pick(warehouse, state)
    key = row["email_key"]
    view = json.loads(warehouse.gtm("customer", f"  {row['email'].upper()} ", "--json").stdout)
    assert view["exitState"] == state and view["exitReason"]
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
    assert view["usageSummary"]["available"] is False
    assert "SOURCES__ADMIN__CREDENTIALS" in view["usageSummary"]["note"]

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
    assert len(actions) <= 5 and [a["priority"] for a in actions] == list(range(1, len(actions) + 1))
    for action in actions:
        assert action["dueDate"] == (AS_OF + timedelta(days=DUE_DAYS[action["severity"]])).isoformat()
        assert action["owner"]
    if state == "healthy":
        assert view["riskIndicators"] == [] and actions == []

    columns = set(row)
    for sentence in view["narrative"]:
        assert all(c in columns or c.startswith("customer_risk_signals.") for c in sentence["columns"])
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
