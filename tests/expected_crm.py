"""The phase-2 metrics of docs/metrics.md (Identity across sources; Calls, pipeline and account managers; the
engagement and tenure fallbacks; the new risk signals; the AM scorecard) computed in plain Python from the
sandbox's HubSpot and Calendly records in their wire format.

Written independently of the SQL models and of the loaders: it reads the generated records the way a person
would read the vendor's API answers, and applies the rules of docs/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from expected import HEALTH_SCOPE, Expected, apply_status_cap, email_key_of, half_up, health

from sandbox.crm import CRM, OWNERS

CLOSED_STAGES = ("closedwon", "closedlost")
TENURE_STAGES = ("customer", "evangelist")
CALL_WINDOW_DAYS = 90
DEAL_LOST_DAYS = 30
REPEATED_NO_SHOWS = 2
AM_NO_CALL_DAYS = 60


def parse(value: Any) -> datetime | None:
    """An ISO timestamp of HubSpot or Calendly, or None when it does not parse (the loaders quarantine)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def key_of(email: Any) -> str | None:
    return email_key_of({"email": email})


@dataclass
class Call:
    invitee_uri: str
    event_uri: str
    email_key: str
    email: str
    name: str | None
    booked_at: datetime
    start: datetime
    end: datetime
    outcome: str  # canceled | no_show | held | upcoming
    host_owner_id: str | None
    is_replacement: bool


@dataclass
class CrmFacts:
    """What HubSpot and Calendly say about one customer (email_key)."""

    email_key: str
    hubspot_contact_id: str | None = None
    hubspot_email: str | None = None
    hubspot_name: str | None = None
    hubspot_created: datetime | None = None
    lifecycle_stage: str | None = None
    company_name: str | None = None
    owner_id: str | None = None
    calls: list[Call] = field(default_factory=list)
    deals: dict[str, dict[str, Any]] = field(default_factory=dict)
    # derived
    am_owner_id: str | None = None
    am_source: str | None = None
    calls_booked_90d: int = 0
    calls_held_90d: int = 0
    call_no_shows_90d: int = 0
    call_show_rate: Decimal | None = None
    call_show_rate_90d: Decimal | None = None
    days_since_last_call: int | None = None
    open_deal_value: Decimal | None = None
    deal_stage: str | None = None
    has_recent_lost_deal: bool = False


def owners() -> dict[str, dict[str, Any]]:
    return {
        owner_id: {"name": f"{first} {last}", "email": CRM.owner_email(i), "left": archived}
        for i, (owner_id, _user, first, last, archived) in enumerate(OWNERS)
    }


def hubspot_contacts(crm: CRM) -> list[dict[str, Any]]:
    """Live (not merged-away) contacts whose timestamps parse: what staging keeps."""
    records = []
    for p in range(crm.person_count):
        if not crm.contact_exists(p):
            continue
        record = crm.contact_record(p)
        props = record["properties"]
        if parse(props["createdate"]) is None or parse(props["lastmodifieddate"]) is None:
            continue  # quarantined by the loader
        records.append(record)
    return records


def calendly_calls(crm: CRM, as_of: date) -> list[Call]:
    t = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    host_owner = {o["email"]: owner_id for owner_id, o in owners().items()}
    calls = []
    for p, e in crm.event_positions():
        event, invitees = crm.event_record(p, e)
        start, end = parse(event["start_time"]), parse(event["end_time"])
        if start is None or end is None:
            continue  # quarantined with its invitees
        organizer = event["event_memberships"][0]["user_email"].strip().lower()
        for invitee in invitees:
            key = key_of(invitee["email"])
            if key is None:
                continue
            if event["status"] == "canceled" or invitee["status"] == "canceled":
                outcome = "canceled"
            elif end < t and invitee["no_show"] is not None:
                outcome = "no_show"
            elif end < t:
                outcome = "held"
            else:
                outcome = "upcoming"
            calls.append(
                Call(
                    invitee["uri"],
                    event["uri"],
                    key,
                    invitee["email"].strip(),
                    invitee.get("name"),
                    parse(invitee["created_at"]),  # type: ignore[arg-type]
                    start,
                    end,
                    outcome,
                    host_owner.get(organizer),
                    invitee.get("old_invitee") is not None,
                )
            )
    return calls


def crm_facts(crm: CRM, as_of: date) -> dict[str, CrmFacts]:
    """Per email_key: the HubSpot contact, deals, calls and the AM, per docs/metrics.md."""
    t = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    window_start = t - timedelta(days=CALL_WINDOW_DAYS)
    facts: dict[str, CrmFacts] = {}
    known_owners = owners()

    contact_key: dict[str, str] = {}
    primary: dict[str, dict[str, Any]] = {}
    for record in hubspot_contacts(crm):
        key = key_of(record["properties"]["email"])
        if key is None:
            continue
        contact_key[record["id"]] = key
        props = record["properties"]
        rank = (parse(props["lastmodifieddate"]), parse(props["createdate"]), record["id"])
        best = primary.get(key)
        if best is None or rank > best["rank"]:
            primary[key] = {"rank": rank, "record": record}
    for key, best in primary.items():
        record, props = best["record"], best["record"]["properties"]
        company = None
        if props.get("associatedcompanyid"):
            c = crm.company_position(props["associatedcompanyid"])
            company = crm.company_record(c)["properties"]["name"] if c is not None else None
        facts[key] = CrmFacts(
            key,
            hubspot_contact_id=record["id"],
            hubspot_email=props["email"].strip(),
            hubspot_name=" ".join(n for n in (props.get("firstname"), props.get("lastname")) if n) or None,
            hubspot_created=parse(props["createdate"]),
            lifecycle_stage=(props.get("lifecyclestage") or None),
            company_name=company or props.get("company"),
            owner_id=props.get("hubspot_owner_id"),
        )

    for c in range(crm.company_count):
        for k in range(crm.deal_count(c)):
            record = crm.deal_record(c, k)
            props = record["properties"]
            amount = props.get("amount")
            try:
                value = None if amount is None else Decimal(amount)
            except ArithmeticError:
                continue  # quarantined: amount is not a number
            closed = parse(props.get("closedate"))
            deal = {
                "id": record["id"],
                "stage": props["dealstage"],
                "amount": value,
                "created": parse(props["createdate"]),
                "closed": closed,
                "open": props["dealstage"] not in CLOSED_STAGES and props.get("hs_is_closed") != "true",
            }
            for contact_id in crm.deal_contacts(c, k):
                key = contact_key.get(contact_id)
                if key is not None:
                    facts[key].deals[record["id"]] = deal

    for call in calendly_calls(crm, as_of):
        facts.setdefault(call.email_key, CrmFacts(call.email_key)).calls.append(call)

    for row in facts.values():
        calls = row.calls
        in_window = [c for c in calls if window_start <= c.start < t]
        row.calls_booked_90d = sum(
            1 for c in calls if window_start <= c.booked_at < t + timedelta(days=1) and not c.is_replacement
        )
        row.calls_held_90d = sum(1 for c in in_window if c.outcome == "held")
        row.call_no_shows_90d = sum(1 for c in in_window if c.outcome == "no_show")
        held = sum(1 for c in calls if c.outcome == "held")
        no_shows = sum(1 for c in calls if c.outcome == "no_show")
        if held + no_shows:
            row.call_show_rate = half_up(Decimal(held) / (held + no_shows), "0.0001")
        if row.calls_held_90d + row.call_no_shows_90d:
            row.call_show_rate_90d = half_up(
                Decimal(row.calls_held_90d) / (row.calls_held_90d + row.call_no_shows_90d), "0.0001"
            )
        last = max((c.end for c in calls if c.outcome == "held"), default=None)
        row.days_since_last_call = None if last is None else (as_of - last.date()).days

        if row.owner_id in known_owners:
            row.am_owner_id, row.am_source = row.owner_id, "hubspot_owner"
        else:
            hosted = [
                c
                for c in calls
                if c.outcome != "canceled" and c.host_owner_id and c.booked_at < t + timedelta(days=1)
            ]
            if hosted:
                latest = max(hosted, key=lambda c: (c.start, c.event_uri))
                row.am_owner_id, row.am_source = latest.host_owner_id, "calendly_host"

        if row.hubspot_contact_id is not None:
            deals = list(row.deals.values())
            row.open_deal_value = sum((d["amount"] or Decimal(0) for d in deals if d["open"]), Decimal(0))
            open_deals = sorted(
                (d for d in deals if d["open"]),
                key=lambda d: (d["created"], d["closed"], d["id"]),
                reverse=True,
            )
            closed_deals = sorted(
                (d for d in deals if not d["open"]), key=lambda d: (d["closed"], d["id"]), reverse=True
            )
            row.deal_stage = (open_deals or closed_deals or [{"stage": None}])[0]["stage"]
            row.has_recent_lost_deal = any(
                d["stage"] == "closedlost"
                and d["closed"] is not None
                and t - timedelta(days=DEAL_LOST_DAYS) <= d["closed"] < t + timedelta(days=1)
                for d in deals
            )
    return facts


@dataclass
class Customer:
    """The expected unified_customers row of one customer: phase-1 values plus the CRM facts."""

    row: Expected
    crm: CrmFacts | None
    sources: tuple[str, ...]
    email: str
    name: str | None
    intercom: bool

    @property
    def source_count(self) -> int:
        return len(self.sources)

    @property
    def match_confidence(self) -> str:
        return "high" if self.source_count >= 2 else "medium"


def engagement_score(facts: CrmFacts | None) -> int | None:
    if facts is None or facts.call_show_rate_90d is None:
        return None
    rate = facts.call_show_rate_90d
    for bound, score in (
        (Decimal("0.9"), 100),
        (Decimal("0.75"), 75),
        (Decimal("0.5"), 50),
        (Decimal("0.25"), 25),
    ):
        if rate >= bound:
            return score
    return 0


def expected_unified(
    intercom_rows: Mapping[str, Expected],
    intercom_contacts: Mapping[str, Mapping[str, Any]],
    crm: CRM,
    as_of: date,
) -> dict[str, Customer]:
    """Every customer of the three sources, scored with the phase-2 engagement and tenure rules and signals.

    intercom_rows: expected.expected_customers(...); intercom_contacts: the winning contact per key."""
    facts = crm_facts(crm, as_of)
    known_owners = owners()
    customers: dict[str, Customer] = {}
    for key in set(intercom_rows) | set(facts):
        crm_row = facts.get(key)
        intercom = key in intercom_rows
        row = intercom_rows.get(key) or Expected(key, "")
        contact = intercom_contacts.get(key, {})
        sources = tuple(
            name
            for name, present in (
                ("intercom", intercom),
                ("hubspot", crm_row is not None and crm_row.hubspot_contact_id is not None),
                ("calendly", crm_row is not None and bool(crm_row.calls)),
            )
            if present
        )
        tenure_start = None
        if (
            contact.get("created_at") is None
            and crm_row is not None
            and crm_row.hubspot_created is not None
            and crm_row.lifecycle_stage in TENURE_STAGES
        ):
            tenure_start = crm_row.hubspot_created.date()
        health(row, contact, as_of, engagement=engagement_score(crm_row), tenure_start=tenure_start)
        signals = set(row.risk_signals)
        if crm_row is not None and crm_row.call_no_shows_90d >= REPEATED_NO_SHOWS:
            signals.add("repeated_no_shows")
        if crm_row is not None and crm_row.has_recent_lost_deal:
            signals.add("deal_lost")
        am = known_owners.get(crm_row.am_owner_id) if crm_row and crm_row.am_owner_id else None
        if row.mrr and row.mrr > 0 and (am is None or am["left"]):
            signals.add("no_owner_on_paying_account")
        row.risk_signals = sorted(signals)
        apply_status_cap(row)
        if intercom:
            email, name = contact["email"].strip(), None
        elif crm_row is not None and crm_row.hubspot_email:
            email, name = crm_row.hubspot_email, crm_row.hubspot_name
        else:
            assert crm_row is not None
            latest = max(crm_row.calls, key=lambda c: (c.booked_at, c.invitee_uri))
            email, name = latest.email, latest.name
        customers[key] = Customer(row, crm_row, sources, email, name or email.split("@")[0], intercom)
    return customers


def am_scorecard(customers: Mapping[str, Customer], crm: CRM, as_of: date) -> dict[str, dict[str, Any]]:
    """Per owner id: the AM scorecard row (active owners, and owners who left but still own customers)."""
    t = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    window_start = t - timedelta(days=CALL_WINDOW_DAYS)
    cards: dict[str, dict[str, Any]] = {}
    book: dict[str, list[Customer]] = defaultdict(list)
    for customer in customers.values():
        if (
            customer.crm is not None
            and customer.crm.am_owner_id
            and customer.row.customer_stage in HEALTH_SCOPE
        ):
            book[customer.crm.am_owner_id].append(customer)
    hosted: dict[str, list[str]] = defaultdict(list)
    for p, e in crm.event_positions():  # every invitee, valid email or not
        event, invitees = crm.event_record(p, e)
        start, end = parse(event["start_time"]), parse(event["end_time"])
        if start is None or end is None or not window_start <= start < t:
            continue
        organizer = event["event_memberships"][0]["user_email"].strip().lower()
        owner_id = next((i for i, o in owners().items() if o["email"] == organizer), None)
        for invitee in invitees:
            if owner_id is None or event["status"] == "canceled" or invitee["status"] == "canceled":
                continue
            if end < t:
                hosted[owner_id].append("no_show" if invitee["no_show"] else "held")
    for owner_id, owner in owners().items():
        mine = book.get(owner_id, [])
        if owner["left"] and not mine:
            continue
        held, no_shows = hosted[owner_id].count("held"), hosted[owner_id].count("no_show")
        at_risk = [c for c in mine if c.row.health_status != "healthy"]
        cards[owner_id] = {
            "am_name": owner["name"],
            "am_has_left": owner["left"],
            "customers": len(mine),
            "paying_customers": sum(1 for c in mine if c.row.mrr and c.row.mrr > 0),
            "mrr": sum((c.row.mrr or Decimal(0) for c in mine), Decimal(0)),
            "avg_health_score": half_up(Decimal(sum(c.row.health_score for c in mine)) / len(mine), "0.01")
            if mine
            else None,
            "at_risk_customers": len(at_risk),
            "at_risk_mrr": sum((c.row.mrr or Decimal(0) for c in at_risk), Decimal(0)),
            "customers_without_call_60d": sum(
                1
                for c in mine
                if c.crm.days_since_last_call is None or c.crm.days_since_last_call > AM_NO_CALL_DAYS  # type: ignore[union-attr]
            ),
            "calls_held_90d": held,
            "call_no_shows_90d": no_shows,
            "call_show_rate": half_up(Decimal(held) / (held + no_shows), "0.0001")
            if held + no_shows
            else None,
        }
    return cards
