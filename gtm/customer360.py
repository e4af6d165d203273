"""The customer 360 view (the customer 360 specification) of one customer, built from the marts.

`load_facts` reads the marts; everything after it is a pure function of those rows. Every decision comes
from dbt: risk signals (customer_risk_signals), opportunities (customer_opportunities), the exit state
(customer_exit_states) and the recommended actions with owners and due dates (customer_actions); this module
only arranges them and writes a narrative whose every sentence is a template filled from named columns.
Nothing reads the clock: dates are relative to the as-of date of the build. See docs/customer-360.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gtm.errors import GtmError
from gtm.reports import jsonable
from gtm.safe_text import terminal_tree
from gtm.warehouse import Warehouse

# Sources of later phases: connected once they have been synced (their last_<source>_sync is set).
LATER_SOURCES = ("hubspot", "calendly", "admin", "userflow", "fathom")
# The column that says a source knows the customer (default: <source>_contact_id).
MATCHED_BY = {"admin": "product_account_id", "userflow": "userflow_signed_up_at", "fathom": "last_meeting_at"}
DIMENSIONS = (
    "activity_recency",
    "support_sentiment",
    "payment_health",
    "engagement",
    "tenure",
    "mrr_weighting",
)
REVENUE_MONTHS = 12  # months of MRR history in the view, ending with T's month
STRIPE_PENDING = (
    "No revenue history: Stripe is not connected (SOURCES__STRIPE__ACCESS_TOKEN); MRR comes from Intercom's"
    " Stripe attributes, a snapshot without history."
)
NOT_IN_STRIPE = "No revenue history: no Stripe customer has this email."
USAGE_PENDING = (
    "No product usage data: no user of the product database (SOURCES__ADMIN__CREDENTIALS) has this email."
)
STATUS_STYLE = {"healthy": "green", "at_risk": "yellow", "high_risk": "dark_orange", "critical": "red"}
EXIT_STYLE = {
    "at_risk": "bold red",
    "escalation_required": "bold dark_orange",
    "expansion_ready": "bold green",
    "renewal_focus": "bold cyan",
    "attention_needed": "bold yellow",
    "healthy": "bold green",
}
DECISION_MARTS = (
    "unified_customers",
    "customer_risk_signals",
    "customer_health_trends",
    "customer_exit_states",
    "customer_actions",
    "customer_opportunities",
    "source_freshness",
)


@dataclass(frozen=True)
class Facts:
    """The mart rows of one customer: everything the view is built from."""

    customer: dict[str, Any]
    signals: list[dict[str, Any]] = field(default_factory=list)
    trends: dict[str, dict[str, Any]] = field(default_factory=dict)
    sync_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale_sources: frozenset[str] = frozenset()
    exit_state: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    mrr_months: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the narrative and the columns its facts come from."""

    text: str
    columns: tuple[str, ...]


def _require(warehouse: Warehouse, table: str) -> None:
    if not warehouse.table_exists("marts", table):
        raise GtmError(f"marts.{table} does not exist yet: run `gtm build` (or `make demo`) first")


def load_facts(warehouse: Warehouse, email: str) -> Facts | None:
    """Read one customer's rows from the marts (None when the email is unknown; case and spaces ignored)."""
    for table in DECISION_MARTS:
        _require(warehouse, table)
    email_key = email.strip().lower()
    rows = warehouse.query("select * from marts.unified_customers where email_key = %s", (email_key,))
    if not rows:
        return None
    signals = warehouse.query(
        "select signal, severity, detail, recommended_action, action_owner"
        " from marts.customer_risk_signals where email_key = %s order by severity_rank desc, signal",
        (email_key,),
    )
    trends = warehouse.query("select * from marts.customer_health_trends where email_key = %s", (email_key,))
    exit_states = warehouse.query(
        "select exit_state, exit_state_rule, exit_state_reason from marts.customer_exit_states"
        " where email_key = %s",
        (email_key,),
    )
    actions = warehouse.query(
        "select action_rank, reason, reason_type, severity, detail, recommended_action, action_owner,"
        " owner_name, due_date, skill from marts.customer_actions where email_key = %s order by action_rank",
        (email_key,),
    )
    found = warehouse.query(
        "select opportunity, detail, estimated_mrr, estimated_mrr_native, currency"
        " from marts.customer_opportunities where email_key = %s order by opportunity",
        (email_key,),
    )
    sync_runs: dict[str, dict[str, Any]] = {}
    if warehouse.table_exists("ops", "sync_log"):
        for run in warehouse.query(
            "select source, status, finished_at, error_message from ops.sync_log order by finished_at"
        ):
            sync_runs[run["source"]] = run
    stale = warehouse.query("select source_name from marts.source_freshness where is_stale")
    mrr_months: list[dict[str, Any]] = []
    movements: list[dict[str, Any]] = []
    if warehouse.table_exists("marts", "revenue_mrr_monthly"):
        first = history_months(rows[0]["as_of_date"])[0]
        mrr_months = warehouse.query(
            "select month_start, month_end, currency, mrr_native, mrr_reporting"
            " from marts.revenue_mrr_monthly where customer_key = %s and month_start >= %s"
            " order by month_start, currency",
            (email_key, first),
        )
    if warehouse.table_exists("marts", "revenue_movements"):
        movements = warehouse.query(
            "select movement_date, movement_type, currency, amount_native, amount_reporting"
            " from marts.revenue_movements where customer_key = %s order by movement_date, movement_type",
            (email_key,),
        )
    return Facts(
        customer=rows[0],
        signals=signals,
        trends={row["dimension"]: row for row in trends},
        sync_runs=sync_runs,
        stale_sources=frozenset(row["source_name"] for row in stale),
        exit_state=exit_states[0] if exit_states else {},
        actions=actions,
        opportunities=found,
        mrr_months=mrr_months,
        movements=movements,
    )


# --- formatting helpers ------------------------------------------------------------------------------


def money(value: Any, currency: str | None = None) -> str:
    """$1,234.50 in the reporting currency; with a currency code, the native amount (EUR 1,234.50)."""
    if value is None:
        return "-"
    if currency:
        return f"{currency.upper()} {Decimal(str(value)):,.2f}"
    return f"${Decimal(str(value)):,.2f}"


def customer_mrr(customer: dict[str, Any]) -> str:
    """MRR as a person reads it: converted, or the native amount when its currency has no rate."""
    if customer.get("is_fx_missing"):
        return f"{money(customer['mrr_native'], customer['currency'])} (no {customer['currency']} rate)"
    return money(customer["mrr"])


def _number(value: Any) -> Any:
    """Decimals as int when whole, else float (for JSON and sentences)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- the marts' decisions, arranged (pure) -----------------------------------------------------------


def risk_indicators(facts: Facts) -> list[dict[str, Any]]:
    """The customer's risk signals (customer_risk_signals), most severe first."""
    return [
        {
            "type": signal["signal"],
            "severity": signal["severity"],
            "signal": signal["detail"],
            "recommendation": signal["recommended_action"],
            "owner": signal["action_owner"],
        }
        for signal in facts.signals
    ]


def opportunities(facts: Facts) -> list[dict[str, Any]]:
    """The customer's opportunities (customer_opportunities) with their estimated monthly value."""
    return [
        {
            "type": row["opportunity"],
            "signal": row["detail"],
            "estimatedMrr": row["estimated_mrr"],
            "estimatedMrrNative": row["estimated_mrr_native"],
            "currency": row["currency"],
        }
        for row in facts.opportunities
    ]


def recommended_actions(facts: Facts) -> list[dict[str, Any]]:
    """The customer's actions (customer_actions): at most five, by priority, with owner and due date."""
    return [
        {
            "priority": action["action_rank"],
            "action": action["recommended_action"],
            "owner": action["owner_name"] or action["action_owner"],
            "ownerRole": action["action_owner"],
            "dueDate": action["due_date"],
            "severity": action["severity"],
            "reason": action["reason"],
            "reasonType": action["reason_type"],
            "detail": action["detail"],
            "skillTrigger": action["skill"],
        }
        for action in facts.actions
    ]


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def data_sources(facts: Facts) -> list[dict[str, Any]]:
    """Which sources matched the customer, when each was last synced, and whether that is stale at T
    (marts.source_freshness)."""
    customer = facts.customer
    sources = []
    for name in ("intercom", *LATER_SOURCES):
        column = f"last_{name}_sync"
        last_sync = _as_datetime(customer.get(column))
        run = facts.sync_runs.get(name, {})
        if last_sync is None and not run:
            # never synced: not connected, so neither matched nor stale
            sources.append({"source": name, "connected": False, "matched": False})
            continue
        sources.append(
            {
                "source": name,
                "connected": True,
                "matched": customer.get(MATCHED_BY.get(name, f"{name}_contact_id")) is not None,
                "lastSync": last_sync,
                "lastRunStatus": run.get("status"),
                "stale": name in facts.stale_sources,
            }
        )
        if name == "intercom" and not stripe_connected(facts):
            has_stripe = customer.get("stripe_customer_id") is not None or customer.get("mrr") is not None
            sources.append({"source": "stripe", "connected": True, "via": "intercom", "matched": has_stripe})
    if stripe_connected(facts):
        run = facts.sync_runs.get("stripe", {})
        sources.append(
            {
                "source": "stripe",
                "connected": True,
                "matched": customer.get("revenue_basis") == "stripe",
                "lastSync": _as_datetime(run.get("finished_at")),
                "lastRunStatus": run.get("status"),
                "stale": "stripe" in facts.stale_sources,
            }
        )
    return sources


# --- revenue history (pure) ----------------------------------------------------------------------------


def stripe_connected(facts: Facts) -> bool:
    """Stripe is connected directly: `gtm sync` has run it, or it is this customer's revenue of record."""
    return "stripe" in facts.sync_runs or facts.customer.get("revenue_basis") == "stripe"


def history_months(as_of: date | str) -> list[date]:
    """The first days of the REVENUE_MONTHS months ending with T's month, oldest first."""
    day = _as_date(as_of)
    index = day.year * 12 + day.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - REVENUE_MONTHS + 1, index + 1)]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def revenue_history(facts: Facts) -> dict[str, Any]:
    """The customer's monthly MRR for the last 12 months (marts.revenue_mrr_monthly: MRR on each month's last
    day, T for T's month; 0 in a month without MRR) and every MRR movement up to T (marts.revenue_movements).
    Empty, with a note, when Stripe is not connected or has no customer with this email."""
    customer = facts.customer
    connected = stripe_connected(facts)
    in_stripe = customer.get("revenue_basis") == "stripe"
    if not connected or not in_stripe:
        return {
            "connected": connected,
            "basis": customer.get("revenue_basis"),
            "monthlyMrr": [],
            "movements": [],
            "note": NOT_IN_STRIPE if connected else STRIPE_PENDING,
        }
    months = []
    for month in history_months(customer["as_of_date"]):
        rows = [row for row in facts.mrr_months if _as_date(row["month_start"]) == month]
        converted = [row["mrr_reporting"] for row in rows]
        months.append(
            {
                "month": month,
                "mrr": None if None in converted else sum(converted, Decimal(0)),
                "native": [
                    {"currency": row["currency"], "mrrNative": row["mrr_native"], "mrr": row["mrr_reporting"]}
                    for row in rows
                ],
            }
        )
    return {
        "connected": True,
        "basis": "stripe",
        "monthlyMrr": months,
        "movements": [
            {
                "date": row["movement_date"],
                "type": row["movement_type"],
                "currency": row["currency"],
                "amountNative": row["amount_native"],
                "amount": row["amount_reporting"],
            }
            for row in facts.movements
        ],
        "note": None,
    }


# --- narrative (pure templates) ----------------------------------------------------------------------


def narrative(facts: Facts, found: list[dict[str, Any]]) -> list[Sentence]:
    """The key narrative: a few template sentences, each naming the columns it is built from."""
    customer = facts.customer
    name = customer["name"]
    sentences = []
    since = (
        f"has been a customer since {customer['signup_date']}"
        if customer["signup_date"]
        else "has no signup date on record"
    )
    if customer["mrr"] is None and not customer.get("is_fx_missing"):
        sentences.append(Sentence(f"{name} {since}, with no Stripe data.", ("name", "signup_date", "mrr")))
    else:
        plan = customer["plan_name"] or "no plan name"
        sentences.append(
            Sentence(
                f"{name} {since}, paying {customer_mrr(customer)} a month ({plan}, "
                f"{customer['subscription_status']}).",
                ("name", "signup_date", "mrr", "mrr_native", "currency", "plan_name", "subscription_status"),
            )
        )
    health = f"Health is {customer['health_score']}/100 ({customer['health_status'].replace('_', ' ')})"
    delta = customer["health_delta_7d"]
    if delta is None:
        trend = "with no snapshot from 7 days ago to compare"
    elif customer["health_trend"] == "stable":
        trend = f"stable over 7 days ({delta:+d})"
    else:
        trend = f"{customer['health_trend']}: {delta:+d} points over 7 days"
    sentences.append(
        Sentence(f"{health}, {trend}.", ("health_score", "health_status", "health_delta_7d", "health_trend"))
    )
    if customer.get("health_status_capped_by"):
        sentences.append(
            Sentence(
                f"The score alone would be healthy; the {customer['health_status_capped_by']} signal "
                "keeps it at risk.",
                ("health_status_capped_by",),
            )
        )
    if facts.signals:
        top = facts.signals[0]
        sentences.append(
            Sentence(
                f"{_plural(len(facts.signals), 'risk signal')}; the most severe is {top['signal']} "
                f"({top['severity']}): {top['detail']}.",
                ("risk_signals", "customer_risk_signals.severity", "customer_risk_signals.detail"),
            )
        )
    else:
        sentences.append(Sentence("No risk signal is active.", ("risk_signals",)))
    if customer["open_tickets"]:
        priority = ", one of them priority" if customer["has_open_priority_ticket"] else ""
        sentences.append(
            Sentence(
                f"Support has {_plural(customer['open_tickets'], 'open ticket')}{priority}.",
                ("open_tickets", "has_open_priority_ticket"),
            )
        )
    if customer["calls_booked_90d"] is not None:
        sentences.append(call_sentence(customer))
    if customer["days_to_renewal"] is not None and customer["days_to_renewal"] >= 0:
        sentences.append(
            Sentence(
                f"The annual contract renews on {customer['next_renewal_date']}, "
                f"in {customer['days_to_renewal']} days.",
                ("next_renewal_date", "days_to_renewal"),
            )
        )
    if found:
        sentences.append(
            Sentence(
                f"Opportunity: {found[0]['type'].replace('_', ' ')} ({found[0]['signal']}).",
                ("customer_opportunities.opportunity", "customer_opportunities.detail"),
            )
        )
    return sentences


def call_sentence(customer: dict[str, Any]) -> Sentence:
    """What the calls of the last 90 days say (only when Calendly is connected)."""
    am = customer["assigned_am"] or "no account manager"
    if customer["am_has_left"]:
        am += " (who has left)"
    held, no_shows = customer["calls_held_90d"], customer["call_no_shows_90d"]
    if not held and not no_shows:
        calls = "no call was held in the last 90 days"
    else:
        rate = customer["call_show_rate_90d"]
        shown = f", a {float(rate):.0%} show rate" if rate is not None else ""
        calls = f"{_plural(held, 'call')} held and {_plural(no_shows, 'no-show')} in 90 days{shown}"
    return Sentence(
        f"Account manager: {am}; {calls}.",
        ("assigned_am", "am_has_left", "calls_held_90d", "call_no_shows_90d", "call_show_rate_90d"),
    )


# --- the view ----------------------------------------------------------------------------------------


def _dimension(facts: Facts, name: str) -> dict[str, Any]:
    customer = facts.customer
    trend = facts.trends.get(name, {})
    return {
        "score": _number(customer[f"{name}_score"]),
        "weight": customer[f"{name}_weight_applied"],
        "contribution": _number(customer[f"{name}_contribution"]),
        "trend": trend.get("trend", "insufficient_history"),
        "delta7d": _number(trend.get("delta_7d")),
        "trend30d": trend.get("trend_30d", "insufficient_history"),
        "delta30d": _number(trend.get("delta_30d")),
    }


def build_view(facts: Facts) -> dict[str, Any]:
    """The 360 view in the customer 360 specification's response shape (JSON-ready)."""
    customer = facts.customer
    as_of = customer["as_of_date"]
    indicators = risk_indicators(facts)
    found = opportunities(facts)
    sentences = narrative(facts, found)
    sources = data_sources(facts)
    penalties = {
        name: customer[f"penalty_{name}"]
        for name in ("cancel_mention", "delinquent", "inactive", "open_priority_ticket")
        if customer[f"penalty_{name}"]
    }
    usage_available = customer["logins_30d"] is not None
    view = {
        "accountId": customer["email_key"],
        "asOfDate": as_of,
        "dataCompleteness": _number(Decimal(customer["data_quality_score"]) / 100),
        "accountProfile": {
            "name": customer["name"],
            "email": customer["email"],
            "lifecycleStage": customer.get("lifecycle_stage"),
            "customerStage": customer["customer_stage"],
            "inHealthScope": customer["is_in_health_scope"],
            "location": {"country": customer["location_country"], "city": customer["location_city"]},
            "arr": customer["arr"],
            "customerSince": customer["signup_date"],
            "csm": customer.get("assigned_am"),
            "plan": customer["plan_name"],
            "contractEnd": customer["next_renewal_date"],
            "matchConfidence": customer["match_confidence"],
            "sourceCount": customer["source_count"],
        },
        "healthSummary": {
            "overallScore": customer["health_score"],
            "status": customer["health_status"],
            "statusCappedBy": customer["health_status_capped_by"],
            "trend": customer["health_trend"],
            "trendDelta": customer["health_delta_7d"],
            "trendDelta30d": customer["health_delta_30d"],
            "trend30d": facts.trends.get("overall", {}).get("trend_30d", "insufficient_history"),
            "churnRisk": customer["churn_risk"],
            "healthBase": customer["health_base"],
            "coverage": customer["health_coverage"],
            "penalties": penalties,
            "dimensions": {name: _dimension(facts, name) for name in DIMENSIONS},
        },
        "engagementSummary": {
            "lastSeenAt": customer["last_seen_at"],
            "daysSinceContact": customer["days_since_seen"],
            "conversationsLast30Days": customer["intercom_convos_30d"],
        },
        "supportSummary": {
            "openTickets": customer["open_tickets"],
            "ticketsTotal": customer["intercom_convos_total"],
            "ticketsLast30Days": customer["intercom_convos_30d"],
            "csat": customer["csat_score"],
            "mentionedCancel": customer["mentioned_cancel"],
            "activeEscalation": (
                {"severity": "priority", "openTickets": customer["open_tickets"]}
                if customer["has_open_priority_ticket"]
                else None
            ),
        },
        "relationshipSummary": {
            "accountManager": customer["assigned_am"],
            "accountManagerEmail": customer["assigned_am_email"],
            "accountManagerHasLeft": customer["am_has_left"],
            "assignedFrom": customer["am_assignment_source"],
            "company": customer["company_name"],
            "callsBooked90d": customer["calls_booked_90d"],
            "callsHeld90d": customer["calls_held_90d"],
            "callNoShows90d": customer["call_no_shows_90d"],
            "callShowRate90d": customer["call_show_rate_90d"],
            "lastCallAt": customer["last_call_at"],
            "daysSinceLastCall": customer["days_since_last_call"],
            "nextCallAt": customer["next_call_at"],
            "pipeline": {
                "dealStage": customer["deal_stage"],
                "openDeals": customer["open_deal_count"],
                "openDealValue": customer["open_deal_value"],
                "lastDealLostDate": customer["last_deal_lost_date"],
            },
        },
        "usageSummary": {
            "available": usage_available,
            "engagementBasis": customer["engagement_basis"],
            "logins7d": customer["logins_7d"],
            "logins30d": customer["logins_30d"],
            "activeDays30d": customer["active_days_30d"],
            "lastLoginAt": customer["last_login_at"],
            "usage30d": customer["usage_30d"],
            "usagePrev30d": customer["usage_prev_30d"],
            "usageTrend": customer["usage_trend"],
            "credits": {
                "balance": customer["credits_balance"],
                "used30d": customer["credits_used_30d"],
                "daysLeft": customer["credits_days_left"],
            },
            "exports30d": customer["exports_30d"],
            "seats": {
                "purchased": customer["seats_purchased"],
                "used": customer["seats_used"],
                "utilization": customer["seat_utilization"],
            },
            "onboarding": {
                "progress": customer["onboarding_progress"],
                "completedAt": customer["onboarding_completed_at"],
                "stalled": customer["is_onboarding_stalled"],
            },
            "meetings": {
                "last90d": customer["meetings_90d"],
                "lastMeetingAt": customer["last_meeting_at"],
                "openActionItems": customer["open_action_items"],
            },
            "note": None if usage_available else USAGE_PENDING,
        },
        "commercialSummary": {
            "mrr": customer["mrr"],
            "arr": customer["arr"],
            "ltv": customer["ltv"],
            "plan": {"name": customer["plan_name"], "price": customer["plan_price"]},
            "subscriptionCount": customer["subscription_count"],
            "contract": {
                "renewalDate": customer["next_renewal_date"],
                "daysToRenewal": customer["days_to_renewal"],
            },
            "billing": {
                "status": customer["subscription_status"],
                "isDelinquent": customer["is_delinquent"],
                "lastPayment": customer["last_payment_date"],
                "lastPaymentAmount": customer["last_payment_amount"],
            },
            "mrrChange": {
                "previousMrr": customer["previous_mrr"],
                "previousAsOfDate": customer["previous_as_of_date"],
                "changePct": customer["mrr_change_pct"],
            },
            "mrrNative": customer["mrr_native"],
            "currency": customer["currency"],
            "isFxMissing": customer["is_fx_missing"],
            "paymentFailedAt": customer["payment_failed_at"],
            "revenueBasis": customer.get("revenue_basis"),
        },
        "revenueHistory": revenue_history(facts),
        "keyNarrative": " ".join(sentence.text for sentence in sentences),
        "narrative": [{"text": s.text, "columns": list(s.columns)} for s in sentences],
        "riskIndicators": indicators,
        "opportunities": found,
        "recommendedActions": recommended_actions(facts),
        "exitState": facts.exit_state.get("exit_state"),
        "exitReason": facts.exit_state.get("exit_state_reason"),
        "dataSources": sources,
        "staleSources": [source["source"] for source in sources if source.get("stale")],
        # The phase-1 keys of `gtm customer --json`, kept for scripts written against them.
        "email_key": customer["email_key"],
        "intercom_contact_id": customer["intercom_contact_id"],
        "signals": facts.signals,
    }
    return jsonable(view)


def customer_view(warehouse: Warehouse, email: str) -> dict[str, Any]:
    """The 360 view of the customer with this email; GtmError when there is none."""
    facts = load_facts(warehouse, email)
    if facts is None:
        raise GtmError(f"no customer with email {email.strip()!r}")
    return build_view(facts)


# --- terminal rendering ------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def _trend_text(trend: str, delta: Any) -> Text:
    style = {"improving": "green", "declining": "red", "stable": ""}.get(trend, "dim")
    suffix = f" ({delta:+g})" if delta is not None else ""
    return Text(f"{trend.replace('_', ' ')}{suffix}", style=style)


def render(view: dict[str, Any], console: Console) -> None:
    """The 360 view laid out for a person: header, narrative, then one table per section."""
    text, view = terminal_tree(view, markup=False), terminal_tree(view)  # for rich Text, for markup
    profile, health = view["accountProfile"], view["healthSummary"]
    commercial, support = view["commercialSummary"], view["supportSummary"]
    status_style = STATUS_STYLE.get(health["status"], "")
    header = Text.assemble(
        (f"{text['accountProfile']['name']} <{text['accountProfile']['email']}>", "bold"),
        f"  as of {view['asOfDate']}  ·  health ",
        (f"{health['overallScore']} {health['status'].replace('_', ' ')}", status_style),
        "  ·  exit state ",
        (view["exitState"] or "-", EXIT_STYLE.get(view["exitState"], "bold")),
        f" ({text['exitReason']})" if text["exitReason"] else "",
    )
    console.print(Panel(Group(header, Text(text["keyNarrative"])), title="Customer 360", expand=True))

    facts = Table(show_header=False, box=None, padding=(0, 2))
    for _ in range(4):
        facts.add_column()
    facts.add_row(
        "[bold]MRR[/]",
        (
            money(commercial["mrrNative"], commercial["currency"]) + " (no rate)"
            if commercial["isFxMissing"]
            else money(commercial["mrr"])
        ),
        "[bold]customer since[/]",
        _cell(profile["customerSince"]),
    )
    facts.add_row("[bold]ARR[/]", money(commercial["arr"]), "[bold]plan[/]", _cell(profile["plan"]))
    facts.add_row(
        "[bold]LTV[/]",
        money(commercial["ltv"]),
        "[bold]billing[/]",
        f"{_cell(commercial['billing']['status'])}"
        + (" (delinquent)" if commercial["billing"]["isDelinquent"] else ""),
    )
    billing = commercial["billing"]
    facts.add_row(
        "[bold]last payment[/]",
        f"{billing['lastPayment']} {money(billing['lastPaymentAmount'])}" if billing["lastPayment"] else "-",
        "[bold]renewal[/]",
        _cell(commercial["contract"]["renewalDate"]),
    )
    days = view["engagementSummary"]["daysSinceContact"]
    facts.add_row(
        "[bold]last seen[/]",
        "never" if days is None else f"{days} days ago",
        "[bold]support[/]",
        f"{support['openTickets']} open / {support['ticketsTotal']} total, CSAT {_cell(support['csat'])}",
    )
    relationship = view["relationshipSummary"]
    if relationship["callsBooked90d"] is not None or relationship["pipeline"]["dealStage"] is not None:
        pipeline = relationship["pipeline"]
        am = _cell(relationship["accountManager"]) + (
            " (left)" if relationship["accountManagerHasLeft"] else ""
        )
        facts.add_row(
            "[bold]account manager[/]",
            am,
            "[bold]calls 90d[/]",
            f"{_cell(relationship['callsHeld90d'])} held, {_cell(relationship['callNoShows90d'])} no-shows, "
            f"last {_cell(relationship['daysSinceLastCall'])} days ago",
        )
        facts.add_row(
            "[bold]company[/]",
            _cell(relationship["company"]),
            "[bold]pipeline[/]",
            f"{_cell(pipeline['dealStage'])}, {_cell(pipeline['openDeals'])} open "
            f"({money(pipeline['openDealValue'])})",
        )
    console.print(facts)

    dimensions = Table(title=f"Health {health['overallScore']} (churn risk {health['churnRisk']}%)")
    for column, justify in (
        ("dimension", "left"),
        ("score", "right"),
        ("weight", "right"),
        ("contribution", "right"),
        ("7-day trend", "left"),
        ("30-day trend", "left"),
    ):
        dimensions.add_column(column, justify=justify)  # type: ignore[arg-type]
    dimensions.add_row(
        "[bold]overall[/]",
        str(health["overallScore"]),
        "",
        _cell(health["healthBase"]),
        _trend_text(health["trend"], health["trendDelta"]),
        _trend_text(health["trend30d"], health["trendDelta30d"]),
    )
    for name, cell in health["dimensions"].items():
        dimensions.add_row(
            name.replace("_", " "),
            _cell(cell["score"]) if cell["score"] is not None else "[dim]n/a[/]",
            str(cell["weight"]),
            _cell(cell["contribution"]),
            _trend_text(cell["trend"], cell["delta7d"]),
            _trend_text(cell["trend30d"], cell["delta30d"]),
        )
    if health["penalties"]:
        penalties = ", ".join(f"{name} -{points}" for name, points in health["penalties"].items())
        dimensions.caption = f"penalties: {penalties}"
    console.print(dimensions)

    if view["riskIndicators"]:
        risks = Table(title="Risk indicators")
        for column in ("severity", "risk", "signal", "recommendation"):
            risks.add_column(column)
        for item in view["riskIndicators"]:
            style = {"critical": "red", "high": "dark_orange", "medium": "yellow"}.get(item["severity"], "")
            risks.add_row(
                f"[{style}]{item['severity']}[/]" if style else item["severity"],
                item["type"],
                item["signal"],
                item["recommendation"],
            )
        console.print(risks)
    for item in view["opportunities"]:
        value = f", about {money(item['estimatedMrr'])} a month" if item["estimatedMrr"] is not None else ""
        console.print(f"[green]opportunity[/] {item['type']}: {item['signal']}{value}")

    if view["recommendedActions"]:
        actions = Table(title="Recommended actions")
        for column, justify in (("#", "right"), ("action", "left"), ("owner", "left"), ("due", "left")):
            actions.add_column(column, justify=justify)  # type: ignore[arg-type]
        for action in view["recommendedActions"]:
            actions.add_row(
                str(action["priority"]), action["action"], action["owner"], str(action["dueDate"])
            )
        console.print(actions)

    render_usage(view["usageSummary"], console)
    render_revenue(view["revenueHistory"], console)
    matched = ", ".join(s["source"] for s in view["dataSources"] if s.get("matched")) or "none"
    missing = ", ".join(s["source"] for s in view["dataSources"] if not s["connected"])
    line = f"Data: completeness {view['dataCompleteness']:.0%}; matched in {matched}"
    if missing:
        line += f"; not connected yet: {missing}"
    if view["staleSources"]:
        line += f"; [red]stale: {', '.join(view['staleSources'])}[/]"
    console.print(line)


def _signed(amount: Any, native: Any, currency: str) -> str:
    """A movement in the reporting currency, else natively when its currency has no rate (-GBP 99.00)."""
    value = Decimal(str(amount if amount is not None else native))
    text = money(abs(value)) if amount is not None else money(abs(value), currency)
    return ("-" if value < 0 else "+") + text


def render_revenue(history: dict[str, Any], console: Console) -> None:
    """The revenue section: MRR at the end of each of the last 12 months and the MRR movements."""
    if history["note"]:
        console.print(f"[dim]Revenue: {history['note']}[/]")
        return
    months = Table(title="MRR, last 12 months (month end; T for this month)")
    months.add_column("month")
    months.add_column("MRR", justify="right")
    for month in history["monthlyMrr"]:
        if month["mrr"] is not None:
            value = money(month["mrr"])
        else:
            value = ", ".join(f"{money(n['mrrNative'], n['currency'])} (no rate)" for n in month["native"])
        months.add_row(month["month"][:7], value)
    console.print(months)
    moves = Table(title="MRR movements")
    for column, justify in (("date", "left"), ("movement", "left"), ("amount", "right")):
        moves.add_column(column, justify=justify)  # type: ignore[arg-type]
    for move in history["movements"]:
        moves.add_row(
            move["date"],
            move["type"].replace("_", " "),
            _signed(move["amount"], move["amountNative"], move["currency"]),
        )
    if not history["movements"]:
        moves.caption = "no MRR movement yet"
    console.print(moves)


def _share(value: Any) -> str:
    return "n/a" if value is None else f"{Decimal(str(value)):.0%}"


def render_usage(usage: dict[str, Any], console: Console) -> None:
    """The product usage section: logins, usage trend, credits, seats, onboarding, meetings."""
    if not usage["available"]:
        console.print(f"[dim]Usage: {usage['note']}[/]")
    table = Table(title="Product usage", show_header=False)
    table.add_column("what")
    table.add_column("value")
    if usage["available"]:
        trend = usage["usageTrend"]
        trend_text = "n/a (too little usage before)" if trend is None else f"{Decimal(str(trend)):+.0%}"
        table.add_row(
            "logins",
            f"{usage['logins7d']} in 7 days, {usage['logins30d']} in 30 days "
            f"({usage['activeDays30d']} active days); last {usage['lastLoginAt'] or 'never'}",
        )
        table.add_row(
            "usage", f"{usage['usage30d']} in 30 days vs {usage['usagePrev30d']} before: {trend_text}"
        )
        credits, seats = usage["credits"], usage["seats"]
        left = "" if credits["daysLeft"] is None else f", lasts {credits['daysLeft']} days"
        table.add_row("credits", f"{credits['balance']} left, {credits['used30d']} used in 30 days{left}")
        table.add_row("exports", f"{usage['exports30d']} in 30 days")
        table.add_row(
            "seats", f"{seats['used']} of {seats['purchased']} used ({_share(seats['utilization'])})"
        )
    onboarding, meetings = usage["onboarding"], usage["meetings"]
    if onboarding["progress"] is not None:
        done = f"completed {onboarding['completedAt']}" if onboarding["completedAt"] else "not completed"
        stalled = " [yellow](stalled)[/]" if onboarding["stalled"] else ""
        table.add_row("onboarding", f"{_share(onboarding['progress'])} done, {done}{stalled}")
    if meetings["lastMeetingAt"] is not None:
        table.add_row(
            "meetings",
            f"{meetings['last90d']} in 90 days, last {meetings['lastMeetingAt']}, "
            f"{meetings['openActionItems']} open action item(s)",
        )
    if table.row_count:
        console.print(table)


def show_customer_360(warehouse: Warehouse, email: str, console: Console | None = None) -> None:
    """Print the 360 view of one customer (what `gtm customer EMAIL` and the demo show)."""
    render(customer_view(warehouse, email), console or Console())
