"""The metrics of docs/metrics.md computed in plain Python from the sandbox's generated records.

Written independently of the SQL models (and of the loader) so the end-to-end tests can compare the marts
against numbers derived straight from the source data.
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MRR_STATUSES = ("active", "past_due")
STATUS_ORDER = (
    "active",
    "past_due",
    "trialing",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "paused",
    "canceled",
)
PAYMENT_FAILURE_DAYS = 30
# Severities of the signal_actions seed; critical and high cap a healthy status at at_risk.
SEVERITY = {
    "cancel_mention": "critical",
    "payment_failed": "high",
    "payment_delinquent": "high",
    "inactive_30d": "high",
    "deal_lost": "high",
    "repeated_no_shows": "high",
    "mrr_drop": "high",
    "health_drop": "high",
    "open_priority_ticket": "medium",
    "low_csat": "medium",
    "no_owner_on_paying_account": "medium",
}
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
CAP_SEVERITIES = ("critical", "high")
HEALTH_SCOPE = ("paying", "trialing")
# Rate into USD of (currency, day): the latest published on or before the day, None without one.
Rates = Callable[[str, date], Decimal | None]
CANCEL_KEYWORDS = (
    "cancel",
    "cancellation",
    "cancelling",
    "canceling",
    "churn",
    "leaving",
    "switching",
    "not renewing",
    "won't renew",
    "wont renew",
)
CANCEL_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in CANCEL_KEYWORDS) + r")\b", re.IGNORECASE)
CONTACT_TIMESTAMPS = ("created_at", "updated_at", "signed_up_at", "last_seen_at")
CENT = Decimal("0.01")


def half_up(value: Decimal | float, places: str = "1") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def well_formed(record: Mapping[str, Any], timestamps: Iterable[str]) -> bool:
    """Timestamps must be non-negative integers or null (the sandbox's malformed records break this)."""
    for name in timestamps:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            return False
    return isinstance(record.get("id"), str)


def email_key_of(contact: Mapping[str, Any]) -> str | None:
    email = contact.get("email")
    if not isinstance(email, str):
        return None
    key = email.strip().lower()
    return key if EMAIL_RE.match(key) else None


def utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=timezone.utc).date()


def monthly_factor(interval: str, count: int) -> Decimal:
    count = count or 1
    return {
        "month": Decimal(1) / count,
        "year": Decimal(1) / (12 * count),
        "week": Decimal(52) / (12 * count),
        "day": Decimal(365) / (12 * count),
    }[interval]


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", " ", text))).strip()


@dataclass
class Expected:
    email_key: str
    contact_id: str
    mrr: Decimal | None = None
    arr: Decimal | None = None
    mrr_native: Decimal | None = None
    currency: str | None = None
    is_fx_missing: bool | None = None
    ltv: Decimal | None = None
    payment_failed_at: datetime | None = None
    customer_stage: str = "lead"
    subscription_count: int | None = None
    subscription_status: str | None = None
    is_delinquent: bool | None = None
    days_since_seen: int | None = None
    convos_total: int = 0
    convos_30d: int = 0
    open_tickets: int = 0
    has_open_priority_ticket: bool = False
    csat_score: Decimal | None = None
    mentioned_cancel: bool = False
    health_score: int = 0
    health_status: str = ""
    health_status_banded: str = ""
    health_status_capped_by: str | None = None
    churn_risk: int = 0
    data_quality_score: int = 0
    risk_signals: list[str] = field(default_factory=list)


def no_rates(currency: str, day: date) -> Decimal | None:
    """Rates when none are loaded: only the reporting currency converts."""
    return None


def revenue(contact: Mapping[str, Any], fx: Rates, as_of: date, currency: str = "usd") -> dict[str, Any]:
    attrs = contact.get("custom_attributes") or {}
    subs = attrs.get("Stripe Subscriptions") or []
    payments = attrs.get("Stripe Payments") or []
    if not (attrs.get("stripe_id") or subs or payments):
        return {
            "mrr": None,
            "arr": None,
            "mrr_native": None,
            "currency": None,
            "is_fx_missing": None,
            "ltv": None,
            "subscription_count": None,
            "subscription_status": None,
            "is_delinquent": None,
            "customer_stage": "lead",
        }

    def rate(code: str | None, day: date) -> Decimal | None:
        return Decimal(1) if (code or currency) == currency else fx(code or currency, day)

    month_start = as_of.replace(day=1)
    mrr, native, counted, missing, currencies = Decimal(0), Decimal(0), 0, False, set()
    for sub in subs:
        if sub.get("status") not in MRR_STATUSES:
            continue
        plan = sub.get("plan") or {}
        quantity = sub.get("quantity") if sub.get("quantity") is not None else 1
        amount = (
            Decimal(plan["amount"])
            * quantity
            / 100
            * monthly_factor(plan["interval"], plan.get("interval_count") or 1)
        )
        code = plan.get("currency") or currency
        currencies.add(code)
        native += amount
        converted = rate(code, month_start)
        if converted is None:
            missing = True
        else:
            mrr += amount * converted
        counted += 1
    ltv, ltv_missing, has_paid = Decimal(0), False, False
    for p in payments:
        if p.get("status") != "succeeded":
            continue
        net = Decimal(p["amount"] - (p.get("amount_refunded") or 0)) / 100
        has_paid = has_paid or net > 0
        converted = rate(p.get("currency"), utc_date(p["created"]))
        if converted is None:
            ltv_missing = True
        else:
            ltv += net * converted
    if subs:
        present = {s.get("status") for s in subs}
        status = next((s for s in STATUS_ORDER if s in present), None)
    else:
        status = attrs.get("stripe_subscription_status") or None
    if native > 0:
        stage = "paying"
    elif any(s.get("status") == "trialing" for s in subs):
        stage = "trialing"
    elif has_paid:
        stage = "churned"
    else:
        stage = "lead"
    return {
        "mrr": None if missing else half_up(mrr, "0.01"),
        "arr": None if missing else half_up(mrr * 12, "0.01"),
        "mrr_native": half_up(native, "0.01") if len(currencies) <= 1 else None,
        "currency": (currencies.pop() if len(currencies) == 1 else None) if currencies else currency,
        "is_fx_missing": missing,
        "ltv": None if ltv_missing else half_up(ltv, "0.01"),
        "subscription_count": counted,
        "subscription_status": status,
        "is_delinquent": bool(attrs.get("stripe_delinquent") or False),
        "payment_failed_at": payment_failed_at(payments, as_of),
        "customer_stage": stage,
    }


def payment_failed_at(payments: Iterable[Mapping[str, Any]], as_of: date) -> datetime | None:
    """The latest failed payment of the 30 days before T (up to the end of T's day) with no later success."""
    t = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    window = [
        p
        for p in payments
        if t - timedelta(days=PAYMENT_FAILURE_DAYS)
        <= datetime.fromtimestamp(p["created"], tz=timezone.utc)
        < t + timedelta(days=1)
    ]
    failed = [p["created"] for p in window if p.get("status") == "failed"]
    if not failed:
        return None
    last_failed = max(failed)
    if any(p["created"] > last_failed for p in window if p.get("status") == "succeeded"):
        return None
    return datetime.fromtimestamp(last_failed, tz=timezone.utc)


def apply_status_cap(row: Expected) -> None:
    """health_status from the bands, capped at at_risk by a critical or high signal (most severe, by name)."""
    capping = sorted(
        (-SEVERITY_RANK[SEVERITY[s]], s) for s in row.risk_signals if SEVERITY[s] in CAP_SEVERITIES
    )
    if row.health_status_banded == "healthy" and capping:
        row.health_status, row.health_status_capped_by = "at_risk", capping[0][1]
    else:
        row.health_status, row.health_status_capped_by = row.health_status_banded, None


def bucket(value: float, thresholds: list[tuple[float, int]], otherwise: int) -> int:
    for limit, score in thresholds:
        if value <= limit:
            return score
    return otherwise


def health(
    row: Expected,
    contact: Mapping[str, Any],
    as_of: date,
    engagement: int | None = None,
    tenure_start: date | None = None,
) -> None:
    """Scores the row. `engagement` (phase 2: from the call show rate) and `tenure_start` (phase 2: HubSpot
    createdate when the Intercom signup is missing) default to the phase-1 behaviour."""
    dss = row.days_since_seen
    components: list[tuple[int, float | None]] = []
    components.append((25, 0 if dss is None else bucket(dss, [(7, 100), (14, 75), (30, 50), (60, 25)], 0)))
    components.append((20, None if row.csat_score is None else float((row.csat_score - 1) / 4 * 100)))
    if row.subscription_status is None and row.mrr is None:
        payment = None
    elif row.subscription_status == "active" and not row.is_delinquent:
        payment = 100
    elif row.subscription_status == "trialing":
        payment = 75
    elif (row.subscription_status == "active" and row.is_delinquent) or row.subscription_status == "past_due":
        payment = 25
    elif row.subscription_status in ("unpaid", "canceled", "incomplete", "incomplete_expired"):
        payment = 0
    else:
        payment = None
    components.append((20, payment))
    components.append((15, engagement))  # no product data yet: phase 2 passes the call-based score
    created = contact.get("created_at")
    start = utc_date(created) if created is not None else tenure_start
    if start is None:
        tenure = None
    else:
        days = (as_of - start).days
        tenure = 25 if days < 30 else 50 if days < 90 else 70 if days < 180 else 85 if days < 365 else 100
    components.append((10, tenure))
    mrr = row.mrr if row.mrr is not None else row.mrr_native
    if not mrr:
        mrr_score = None
    else:
        mrr_score = (
            100 if mrr >= 1000 else 85 if mrr >= 500 else 70 if mrr >= 200 else 55 if mrr >= 100 else 40
        )
    components.append((10, mrr_score))
    present = [(w, s) for w, s in components if s is not None]
    base = Decimal(str(sum(w * s for w, s in present))) / sum(w for w, _ in present)
    inactive = dss is None or dss > 30
    penalties = (
        30 * row.mentioned_cancel
        + 25 * bool(row.is_delinquent)
        + 20 * inactive
        + 15 * row.has_open_priority_ticket
    )
    score = int(half_up(min(max(base - penalties, Decimal(0)), Decimal(100))))
    row.health_score = score
    row.health_status_banded = (
        "healthy" if score >= 70 else "at_risk" if score >= 50 else "high_risk" if score >= 30 else "critical"
    )
    z = (
        -4
        + 0.05 * (100 - score)
        + 1.5 * row.mentioned_cancel
        + 1.0 * bool(row.is_delinquent)
        + 0.8 * inactive
    )
    row.churn_risk = int(half_up(100 / (1 + math.exp(-z))))
    signals = []
    if row.mentioned_cancel:
        signals.append("cancel_mention")
    if row.is_delinquent or row.subscription_status in ("past_due", "unpaid"):
        signals.append("payment_delinquent")
    if inactive:
        signals.append("inactive_30d")
    if row.has_open_priority_ticket:
        signals.append("open_priority_ticket")
    if row.csat_score is not None and row.csat_score < 3:
        signals.append("low_csat")
    if row.payment_failed_at is not None:
        signals.append("payment_failed")
    row.risk_signals = sorted(signals)
    apply_status_cap(row)
    attrs = contact.get("custom_attributes") or {}
    location = contact.get("location") or {}
    row.data_quality_score = (
        20 * bool(attrs.get("stripe_id"))
        + 20 * bool(row.subscription_count)
        + 15 * bool(row.ltv and row.ltv > 0)
        + 15 * (dss is not None and dss <= 7)
        + 10 * bool(location.get("country") or location.get("city"))
        + 10 * (row.convos_total > 0)
        + 10 * (row.csat_score is not None)
    )


def expected_customers(
    contacts: Iterable[Mapping[str, Any]],
    conversations: Iterable[Mapping[str, Any]],
    as_of: date,
    fx: Rates = no_rates,
) -> dict[str, Expected]:
    """One Expected per customer (email_key), per docs/metrics.md with its default settings."""
    winners: dict[str, Mapping[str, Any]] = {}
    key_of_contact: dict[str, str] = {}
    for contact in contacts:
        if not well_formed(contact, CONTACT_TIMESTAMPS):
            continue
        key = email_key_of(contact)
        if key is None:
            continue
        key_of_contact[contact["id"]] = key
        best = winners.get(key)
        if best is None or contact["updated_at"] > best["updated_at"]:
            winners[key] = contact
    window_start = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc) - timedelta(days=30)
    ratings: dict[str, list[int]] = defaultdict(list)
    rows = {
        key: Expected(key, contact["id"], **revenue(contact, fx, as_of)) for key, contact in winners.items()
    }
    for conversation in conversations:
        if not well_formed(conversation, ("created_at", "updated_at")):
            continue
        keys = {key_of_contact.get(c["id"]) for c in (conversation.get("contacts") or {}).get("contacts", [])}
        created = datetime.fromtimestamp(conversation["created_at"], tz=timezone.utc)
        source = conversation.get("source") or {}
        author = (source.get("author") or {}).get("type")
        text = " ".join(
            strip_html(t)
            for t in (conversation.get("title"), source.get("body") if author in ("user", "lead") else None)
            if t
        )
        for key in keys - {None}:
            row = rows[key]
            row.convos_total += 1
            if created >= window_start:
                row.convos_30d += 1
                if CANCEL_RE.search(text):
                    row.mentioned_cancel = True
            if conversation.get("state") in ("open", "snoozed"):
                row.open_tickets += 1
                if conversation.get("priority") == "priority":
                    row.has_open_priority_ticket = True
            rating = (conversation.get("conversation_rating") or {}).get("rating")
            if rating is not None:
                ratings[key].append(rating)
    for key, row in rows.items():
        contact = winners[key]
        if ratings[key]:
            row.csat_score = half_up(Decimal(sum(ratings[key])) / len(ratings[key]), "0.01")
        seen = contact.get("last_seen_at")
        row.days_since_seen = None if seen is None else (as_of - utc_date(seen)).days
        health(row, contact, as_of)
    return rows
