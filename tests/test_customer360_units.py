"""The pure parts of the customer 360 view: how it arranges the marts' decisions (exit state, actions,
opportunities come from dbt and are tested there), narrative and data freshness."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console

from gtm.customer360 import DIMENSIONS, Facts, build_view, narrative, opportunities, render

AS_OF = date(2026, 11, 20)


def customer(**overrides: Any) -> dict[str, Any]:
    """A healthy paying customer as unified_customers has it; overrides change single columns."""
    row: dict[str, Any] = {
        "as_of_date": AS_OF,
        "email_key": "ana@example.com",
        "email": "Ana@Example.com",
        "name": "Ana Lopez",
        "intercom_contact_id": "c1",
        "stripe_customer_id": "cus_1",
        "location_country": "Spain",
        "location_city": "Madrid",
        "signup_date": date(2024, 3, 1),
        "mrr": Decimal("299.00"),
        "arr": Decimal("3588.00"),
        "ltv": Decimal("5000.00"),
        "plan_name": "Pro",
        "plan_price": Decimal("299.00"),
        "subscription_status": "active",
        "subscription_count": 1,
        "is_delinquent": False,
        "mrr_native": Decimal("299.00"),
        "currency": "usd",
        "is_fx_missing": False,
        "payment_failed_at": None,
        "customer_stage": "paying",
        "is_in_health_scope": True,
        "health_status_capped_by": None,
        "last_payment_amount": Decimal("299.00"),
        "last_payment_date": date(2026, 11, 1),
        "next_renewal_date": None,
        "days_to_renewal": None,
        "previous_as_of_date": date(2026, 11, 19),
        "previous_mrr": Decimal("299.00"),
        "mrr_change_pct": Decimal("0.00"),
        "last_seen_at": datetime(2026, 11, 18, 9, 30),
        "days_since_seen": 2,
        "logins_7d": None,
        "logins_30d": None,
        "intercom_convos_total": 3,
        "intercom_convos_30d": 1,
        "open_tickets": 0,
        "has_open_priority_ticket": False,
        "mentioned_cancel": False,
        "csat_score": Decimal("4.50"),
        "last_intercom_sync": datetime(2026, 11, 19, 23, 0),
        "health_base": Decimal("93.53"),
        "health_coverage": Decimal("0.85"),
        "penalty_cancel_mention": 0,
        "penalty_delinquent": 0,
        "penalty_inactive": 0,
        "penalty_open_priority_ticket": 0,
        "penalty_total": 0,
        "health_score": 80,
        "health_status": "healthy",
        "health_delta_7d": 1,
        "health_delta_30d": -2,
        "health_trend": "stable",
        "churn_risk": 3,
        "risk_signals": "",
        "data_quality_score": 90,
        "match_confidence": "medium",
        "source_count": 1,
    }
    # Phase 2 columns: null while HubSpot and Calendly are not connected.
    for column in (
        "hubspot_contact_id",
        "company_name",
        "lifecycle_stage",
        "assigned_am",
        "assigned_am_email",
        "am_has_left",
        "am_assignment_source",
        "calls_booked_90d",
        "calls_held_90d",
        "call_no_shows_90d",
        "call_show_rate_90d",
        "last_call_at",
        "days_since_last_call",
        "next_call_at",
        "deal_stage",
        "open_deal_count",
        "open_deal_value",
        "last_deal_lost_date",
    ):
        row[column] = None
    # Phase 3 columns: null while the product database, Userflow and Fathom are not connected.
    for column in (
        "engagement_basis",
        "active_days_30d",
        "last_login_at",
        "usage_30d",
        "usage_prev_30d",
        "usage_trend",
        "credits_balance",
        "credits_used_30d",
        "credits_days_left",
        "exports_30d",
        "seats_purchased",
        "seats_used",
        "seat_utilization",
        "onboarding_progress",
        "onboarding_completed_at",
        "is_onboarding_stalled",
        "meetings_90d",
        "last_meeting_at",
        "open_action_items",
    ):
        row[column] = None
    for name in DIMENSIONS:
        row[f"{name}_score"] = None if name == "engagement" else Decimal("100.00")
        row[f"{name}_weight_applied"] = 0 if name == "engagement" else 17
        row[f"{name}_contribution"] = Decimal("0.00") if name == "engagement" else Decimal("16.00")
    row.update(overrides)
    return row


def signal(name: str, severity: str, owner: str = "account_manager") -> dict[str, Any]:
    return {
        "signal": name,
        "severity": severity,
        "detail": f"{name} detail",
        "recommended_action": f"Handle {name}",
        "action_owner": owner,
    }


def test_actions_and_exit_state_are_the_marts_rows() -> None:
    actions = [
        {
            "action_rank": 1,
            "reason": "cancel_mention",
            "reason_type": "signal",
            "severity": "critical",
            "detail": "cancel",
            "recommended_action": "Call within 24h",
            "action_owner": "account_manager",
            "owner_name": "Sarah Chen",
            "due_date": date(2026, 11, 21),
            "skill": "save_call",
        },
        {
            "action_rank": 2,
            "reason": "payment_failed",
            "reason_type": "signal",
            "severity": "high",
            "detail": "failed",
            "recommended_action": "Update the card",
            "action_owner": "billing",
            "owner_name": None,
            "due_date": date(2026, 11, 22),
            "skill": "payment_recovery",
        },
    ]
    exit_row = {
        "exit_state": "at_risk",
        "exit_state_rule": 1,
        "exit_state_reason": "critical signal cancel_mention",
    }
    view = build_view(Facts(customer(), exit_state=exit_row, actions=actions))
    assert (view["exitState"], view["exitReason"]) == ("at_risk", "critical signal cancel_mention")
    assert [
        (a["priority"], a["owner"], a["ownerRole"], a["dueDate"], a["skillTrigger"])
        for a in view["recommendedActions"]
    ] == [
        (1, "Sarah Chen", "account_manager", "2026-11-21", "save_call"),
        (2, "billing", "billing", "2026-11-22", "payment_recovery"),
    ]


def test_mrr_without_a_rate_is_shown_in_its_own_currency() -> None:
    row = customer(mrr=None, arr=None, mrr_native=Decimal("250.00"), currency="eur", is_fx_missing=True)
    texts = [s.text for s in narrative(Facts(row), [])]
    assert (
        texts[0] == "Ana Lopez has been a customer since 2024-03-01, paying EUR 250.00 (no eur rate) a month "
        "(Pro, active)."
    )
    commercial = build_view(Facts(row))["commercialSummary"]
    assert (
        commercial["mrr"],
        commercial["mrrNative"],
        commercial["currency"],
        commercial["isFxMissing"],
    ) == (
        None,
        250.0,
        "eur",
        True,
    )


def test_every_narrative_sentence_names_existing_columns() -> None:
    row = customer(
        open_tickets=2,
        has_open_priority_ticket=True,
        subscription_count=2,
        days_to_renewal=45,
        next_renewal_date=date(2027, 1, 4),
        health_trend="declining",
        health_delta_7d=-7,
        health_status_capped_by="payment_failed",
    )
    opportunity = {
        "opportunity": "second_subscription",
        "detail": "1 trialing subscription(s)",
        "estimated_mrr": Decimal("49.00"),
        "estimated_mrr_native": Decimal("49.00"),
        "currency": "usd",
    }
    facts = Facts(row, [signal("open_priority_ticket", "medium")], opportunities=[opportunity])
    sentences = narrative(facts, opportunities(facts))
    assert [s.text for s in sentences] == [
        "Ana Lopez has been a customer since 2024-03-01, paying $299.00 a month (Pro, active).",
        "Health is 80/100 (healthy), declining: -7 points over 7 days.",
        "The score alone would be healthy; the payment_failed signal keeps it at risk.",
        "1 risk signal; the most severe is open_priority_ticket (medium): open_priority_ticket detail.",
        "Support has 2 open tickets, one of them priority.",
        "The annual contract renews on 2027-01-04, in 45 days.",
        "Opportunity: second subscription (1 trialing subscription(s)).",
    ]
    for sentence in sentences:
        for column in sentence.columns:
            assert column in row or column.startswith(
                ("customer_risk_signals.", "customer_opportunities.")
            ), column
    lead = customer(mrr=None, signup_date=None, health_delta_7d=None, health_trend="insufficient_history")
    texts = [s.text for s in narrative(Facts(lead), [])]
    assert texts[:2] == [
        "Ana Lopez has no signup date on record, with no Stripe data.",
        "Health is 80/100 (healthy), with no snapshot from 7 days ago to compare.",
    ]


def test_narrative_tells_the_calls_once_calendly_is_connected() -> None:
    connected = customer(
        assigned_am="Sarah Chen",
        am_has_left=True,
        calls_booked_90d=4,
        calls_held_90d=3,
        call_no_shows_90d=1,
        call_show_rate_90d=Decimal("0.75"),
    )
    texts = [s.text for s in narrative(Facts(connected), [])]
    assert (
        "Account manager: Sarah Chen (who has left); 3 calls held and 1 no-show in 90 days, a 75% show rate."
        in texts
    )
    quiet = customer(calls_booked_90d=0, calls_held_90d=0, call_no_shows_90d=0)
    assert "Account manager: no account manager; no call was held in the last 90 days." in [
        s.text for s in narrative(Facts(quiet), [])
    ]
    assert not any("Account manager" in s.text for s in narrative(Facts(customer()), []))


def test_view_shape_usage_pending_and_stale_sources() -> None:
    view = build_view(Facts(customer(last_hubspot_sync=None, last_calendly_sync=None)))
    assert view["exitState"] is None  # no customer_exit_states row given
    assert view["usageSummary"]["available"] is False
    assert "SOURCES__ADMIN__CREDENTIALS" in view["usageSummary"]["note"]
    assert view["staleSources"] == []  # no source is stale in marts.source_freshness
    intercom = next(s for s in view["dataSources"] if s["source"] == "intercom")
    assert intercom == {
        "source": "intercom",
        "connected": True,
        "matched": True,
        "lastSync": "2026-11-19T23:00:00",
        "lastRunStatus": None,
        "stale": False,
    }
    assert {s["source"] for s in view["dataSources"] if not s["connected"]} == {
        "hubspot",
        "calendly",
        "admin",
        "userflow",
        "fathom",
    }
    # marts.source_freshness decides staleness (var source_stale_hours); the view names what it says
    stale = build_view(Facts(customer(), stale_sources=frozenset({"intercom", "hubspot"})))
    assert stale["staleSources"] == ["intercom"]  # hubspot is not connected for this customer: not stale
    assert view["dataCompleteness"] == 0.9
    assert view["healthSummary"]["dimensions"]["engagement"] == {
        "score": None,
        "weight": 0,
        "contribution": 0,
        "trend": "insufficient_history",
        "delta7d": None,
        "trend30d": "insufficient_history",
        "delta30d": None,
    }


def test_usage_section_shows_logins_trend_credits_seats_onboarding_and_meetings() -> None:
    product = customer(
        engagement_basis="product_logins",
        logins_7d=4,
        logins_30d=17,
        active_days_30d=9,
        last_login_at=datetime(2026, 11, 19, 8, 0),
        usage_30d=300,
        usage_prev_30d=500,
        usage_trend=Decimal("-0.4000"),
        credits_balance=120,
        credits_used_30d=300,
        credits_days_left=Decimal("12.0"),
        exports_30d=6,
        seats_purchased=5,
        seats_used=5,
        seat_utilization=Decimal("1.0000"),
        product_account_id=7,
        last_admin_sync=datetime(2026, 11, 19, 23, 0),
        onboarding_progress=Decimal("0.6000"),
        onboarding_completed_at=None,
        is_onboarding_stalled=True,
        meetings_90d=2,
        last_meeting_at=datetime(2026, 11, 10, 10, 0),
        open_action_items=1,
    )
    seats = {
        "opportunity": "seat_expansion",
        "detail": "5 of 5 seats used",
        "estimated_mrr": Decimal("59.80"),
        "estimated_mrr_native": Decimal("59.80"),
        "currency": "usd",
    }
    exit_row = {
        "exit_state": "attention_needed",
        "exit_state_rule": 5,
        "exit_state_reason": "onboarding_stalled",
    }
    view = build_view(Facts(product, exit_state=exit_row, opportunities=[seats]))
    assert [o["type"] for o in view["opportunities"]] == ["seat_expansion"]
    usage = view["usageSummary"]
    assert usage["available"] is True and usage["note"] is None
    assert usage["logins30d"] == 17 and usage["usageTrend"] == -0.4
    assert usage["seats"] == {"purchased": 5, "used": 5, "utilization": 1.0}
    assert usage["onboarding"]["stalled"] is True and usage["meetings"]["openActionItems"] == 1
    admin = next(s for s in view["dataSources"] if s["source"] == "admin")
    assert admin["connected"] is True and admin["matched"] is True
    console = Console(record=True, width=160)
    render(view, console)
    text = console.export_text()
    assert "4 in 7 days, 17 in 30 days (9 active days)" in text
    assert "300 in 30 days vs 500 before: -40%" in text
    assert "5 of 5 used (100%)" in text and "lasts 12.0 days" in text
    assert "60% done, not completed (stalled)" in text
    assert "2 in 90 days" in text and "1 open action item(s)" in text


def test_revenue_history_twelve_months_with_zeros_and_notes_without_stripe() -> None:
    from gtm.customer360 import NOT_IN_STRIPE, STRIPE_PENDING

    plain = build_view(Facts(customer()))["revenueHistory"]
    assert plain["note"] == STRIPE_PENDING and plain["monthlyMrr"] == plain["movements"] == []
    synced = {"stripe": {"source": "stripe", "status": "succeeded", "finished_at": None}}
    absent = build_view(Facts(customer(), sync_runs=synced))["revenueHistory"]
    assert absent["connected"] and absent["note"] == NOT_IN_STRIPE
    months = [
        {
            "month_start": date(2026, 3, 1),
            "currency": "usd",
            "mrr_native": Decimal(99),
            "mrr_reporting": Decimal(99),
        },
        {
            "month_start": date(2026, 11, 1),
            "currency": "gbp",
            "mrr_native": Decimal(50),
            "mrr_reporting": None,
        },
    ]
    moves = [
        {
            "movement_date": date(2026, 3, 4),
            "movement_type": "new_business",
            "currency": "usd",
            "amount_native": Decimal(99),
            "amount_reporting": Decimal(99),
        }
    ]
    facts = Facts(customer(revenue_basis="stripe"), mrr_months=months, movements=moves)
    history = build_view(facts)["revenueHistory"]
    assert [m["month"] for m in history["monthlyMrr"]] == [
        f"{year}-{month:02d}-01" for year, month in [(2025, 12), *((2026, m) for m in range(1, 12))]
    ]
    by_month = {m["month"]: m["mrr"] for m in history["monthlyMrr"]}
    assert by_month["2026-03-01"] == 99 and by_month["2026-04-01"] == 0 and by_month["2026-11-01"] is None
    assert history["movements"] == [
        {"date": "2026-03-04", "type": "new_business", "currency": "usd", "amountNative": 99, "amount": 99}
    ]
    console = Console(width=120, record=True)
    render(build_view(facts), console)
    text = console.export_text()
    assert "GBP 50.00 (no rate)" in text and "+$99.00" in text and "new business" in text
