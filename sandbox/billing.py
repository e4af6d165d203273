"""Per-customer Stripe subscription histories: the one source of the sandbox's Stripe, ChartMogul and
Intercom-Stripe-attribute data.

A history is a list of Stripe customers (usually one; two share one email in the `two_stripe_customers`
slot), each with its subscriptions as plain facts: the billing cadence, the price and quantity phases
(each change dated), the trial, the coupon, the failure episode, the cancellation. Everything else —
Stripe invoices with their lines (proration, metered, one-time, tax, discounts), charges, refunds, events,
ChartMogul activities and Intercom's snapshot — is derived from those facts by pure functions here.

Times are integer epoch seconds (UTC). A billing period of n months keeps the anchor's day of month,
clamped to the month's length, as Stripe does.
"""

from __future__ import annotations

import calendar
import datetime
import random
from typing import Any

DAY = 86_400

TIERS = (("Starter", 2_900, 40), ("Pro", 9_900, 35), ("Business", 29_900, 18), ("Enterprise", 99_900, 7))
TIER_RANK = {name: rank for rank, (name, _, _) in enumerate(TIERS)}
CADENCES = ((("month", 1), 70), (("month", 3), 8), (("year", 1), 20), (("week", 1), 2))
TAX_RATE_PERCENT = 20
TAX_RATE_ID = "txr_vat20"
METERED_UNIT_CENTS = 2  # per API call
ONE_TIME_FEE_CENTS = 50_000
# (id, fields) of the coupons the histories use
COUPONS: dict[str, dict[str, Any]] = {
    "cp_percent20_forever": {"percent_off": 20.0, "amount_off": None, "duration": "forever"},
    "cp_amount50_repeating3": {
        "percent_off": None,
        "amount_off": 5_000,
        "duration": "repeating",
        "duration_in_months": 3,
    },
    "cp_percent50_once": {"percent_off": 50.0, "amount_off": None, "duration": "once"},
}


def weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    """One value of `options` ((value, weight), ...) drawn by weight."""
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


def token(rng: random.Random, length: int = 14) -> str:
    """A Stripe-like random id suffix."""
    return "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length)
    )


def add_months(ts: int, months: int) -> int:
    """`ts` moved by whole months, keeping the time of day and the day of month clamped to the month."""
    moment = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    year, month0 = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return calendar.timegm(moment.replace(year=year, month=month0 + 1, day=day).timetuple())


def period_start(anchor: int, interval: str, interval_count: int, n: int) -> int:
    """Start of billing period n (0 = the one starting at `anchor`)."""
    if interval == "week":
        return anchor + 7 * DAY * interval_count * n
    return add_months(anchor, (12 if interval == "year" else 1) * interval_count * n)


def unit_amount(tier: str, interval: str, interval_count: int) -> int:
    """The price in cents of a tier billed every `interval_count` `interval`s."""
    monthly = next(cents for name, cents, _ in TIERS if name == tier)
    return {
        ("month", 1): monthly,
        ("month", 3): round(monthly * 3 * 0.9 / 100) * 100,
        ("year", 1): monthly * 10,
        ("week", 1): round(monthly * 12 / 52),
    }[(interval, interval_count)]


def price_id(tier: str, interval: str, interval_count: int, currency: str) -> str:
    """The Stripe price id of a tier, cadence and currency."""
    suffix = "" if currency == "usd" else f"_{currency}"
    return f"price_{tier.lower()}_{interval_count}{interval}{suffix}"


def price(tier: str, interval: str, interval_count: int, currency: str) -> dict:
    """A licensed recurring Stripe price object (API 2024-06-20)."""
    return {
        "id": price_id(tier, interval, interval_count, currency),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_600_000_000,
        "currency": currency,
        "livemode": False,
        "nickname": tier,
        "product": f"prod_{tier.lower()}",
        "recurring": {
            "interval": interval,
            "interval_count": interval_count,
            "usage_type": "licensed",
            "aggregate_usage": None,
        },
        "type": "recurring",
        "unit_amount": unit_amount(tier, interval, interval_count),
    }


def metered_price(currency: str) -> dict:
    """The per-API-call metered price (never MRR)."""
    return {
        "id": f"price_api_calls_metered_{currency}",
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_600_000_000,
        "currency": currency,
        "livemode": False,
        "nickname": "API calls",
        "product": "prod_api_calls",
        "recurring": {
            "interval": "month",
            "interval_count": 1,
            "usage_type": "metered",
            "aggregate_usage": "sum",
        },
        "type": "recurring",
        "unit_amount": METERED_UNIT_CENTS,
    }


def one_time_price(currency: str) -> dict:
    """The onboarding fee (a one-time price, never MRR)."""
    return {
        "id": f"price_onboarding_fee_{currency}",
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": 1_600_000_000,
        "currency": currency,
        "livemode": False,
        "nickname": "Onboarding",
        "product": "prod_onboarding",
        "recurring": None,
        "type": "one_time",
        "unit_amount": ONE_TIME_FEE_CENTS,
    }


def coupon(coupon_id: str, currency: str) -> dict:
    """A Stripe coupon object."""
    fields = COUPONS[coupon_id]
    return {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": fields["amount_off"],
        "currency": currency if fields["amount_off"] else None,
        "duration": fields["duration"],
        "duration_in_months": fields.get("duration_in_months"),
        "percent_off": fields["percent_off"],
        "valid": True,
        "created": 1_600_000_000,
        "name": coupon_id,
    }


# ---- facts of one subscription -------------------------------------------------------------------------
def new_subscription(
    rng: random.Random,
    customer: str,
    currency: str,
    created: int,
    tier: str,
    cadence: tuple[str, int],
    quantity: int,
) -> dict:
    """The facts of a subscription that starts at `created` with one price phase and no other event."""
    interval, interval_count = cadence
    return {
        "id": f"sub_{token(rng)}",
        "item_id": f"si_{token(rng)}",
        "customer": customer,
        "currency": currency,
        "created": created,
        "interval": interval,
        "interval_count": interval_count,
        "trial_end": None,
        "phases": [{"at": created, "tier": tier, "quantity": quantity}],
        "metered": False,
        "one_time": False,
        "tax": False,
        "discount": None,  # {"coupon": id, "start": ts}
        "failure": None,  # {"period": n, "outcome": recovered|unpaid|open|incomplete, "at": ts}
        "canceled_at": None,
        "ended_at": None,
        "cancel_at_period_end": False,
        "refund": None,  # {"period": n, "share": 0..1}
        "void_period": None,  # a voided duplicate invoice of this period
        "draft": False,  # an unfinalised draft invoice beside the latest period
        "seed": rng.randrange(2**32),
        "history_end": None,  # nothing is billed from this time on (the end of generated history)
    }


def billing_anchor(sub: dict) -> int:
    """When paid service starts: the trial end, else the creation."""
    return sub["trial_end"] or sub["created"]


def periods(sub: dict, until: int) -> list[tuple[int, int]]:
    """The paid billing periods [start, end) that started before `until` and before the subscription ended."""
    stop = min(until, sub["ended_at"] or until, sub["history_end"] or until)
    failure = sub["failure"]
    out = []
    n = 0
    while True:
        start = period_start(billing_anchor(sub), sub["interval"], sub["interval_count"], n)
        if start >= stop:
            break
        if sub["trial_end"] and sub["ended_at"] and sub["ended_at"] <= sub["trial_end"]:
            break  # a trial that lapsed never bills
        out.append((start, period_start(billing_anchor(sub), sub["interval"], sub["interval_count"], n + 1)))
        if failure and failure["period"] == n and failure["outcome"] in ("unpaid", "open", "incomplete"):
            break  # nothing is billed after an invoice that stays unpaid
        n += 1
    return out


def phase_at(sub: dict, ts: int) -> dict:
    """The price phase in effect at `ts` (the first phase before the subscription starts)."""
    current = sub["phases"][0]
    for phase in sub["phases"]:
        if phase["at"] <= ts:
            current = phase
    return current


def status_at(sub: dict, ts: int) -> str:
    """The Stripe status of the subscription at `ts`."""
    failure = sub["failure"]
    if failure and failure["outcome"] == "incomplete":
        return "incomplete"
    if sub["ended_at"] is not None and ts >= sub["ended_at"]:
        return "canceled"
    if sub["trial_end"] and ts < sub["trial_end"]:
        return "trialing"
    if failure:
        start = period_start(billing_anchor(sub), sub["interval"], sub["interval_count"], failure["period"])
        if ts >= start:
            if failure["outcome"] == "recovered":
                return "past_due" if ts < failure["at"] else "active"
            if failure["outcome"] == "unpaid":
                return "past_due" if ts < failure["at"] else "unpaid"
            return "past_due"
    return "active"


def coupon_applies(sub: dict, invoice_created: int, first_invoice_after_start: bool) -> bool:
    """Whether the subscription's coupon reduces an invoice created at `invoice_created`."""
    discount = sub["discount"]
    if not discount or invoice_created < discount["start"]:
        return False
    duration = COUPONS[discount["coupon"]]["duration"]
    if duration == "forever":
        return True
    if duration == "once":
        return first_invoice_after_start
    return invoice_created < add_months(discount["start"], COUPONS[discount["coupon"]]["duration_in_months"])


def discount_end(sub: dict) -> int | None:
    """`end` of the subscription's discount object (repeating coupons only)."""
    discount = sub["discount"]
    if not discount or COUPONS[discount["coupon"]]["duration"] != "repeating":
        return None
    return add_months(discount["start"], COUPONS[discount["coupon"]]["duration_in_months"])


def period_count(sub: dict, until: int) -> int:
    """How many billing periods started in [billing anchor, until)."""
    n = 0
    while period_start(billing_anchor(sub), sub["interval"], sub["interval_count"], n) < until:
        n += 1
    return n


def midday(ts: int, hour: int = 10) -> int:
    """`ts`'s UTC day at `hour`:00."""
    return ts - ts % DAY + hour * 3600


# ---- generation ----------------------------------------------------------------------------------------
STATUSES = (
    ("active", 72),
    ("past_due", 7),
    ("trialing", 7),
    ("unpaid", 3),
    ("canceled", 8),
    ("incomplete", 3),
)
FORCED_STATUS = {
    "active_delinquent": "active",
    "status_past_due": "past_due",
    "status_trialing": "trialing",
    "status_unpaid": "unpaid",
    "status_canceled": "canceled",
    "status_incomplete": "incomplete",
}
FORCED_CADENCE = {
    "plan_weekly": ("week", 1),
    "plan_quarterly": ("month", 3),
    "plan_annual": ("year", 1),
    "plan_monthly": ("month", 1),
}
# Revenue edge cases (slot kind -> what the primary subscription does); each is active at the end unless
# the kind says otherwise. README.md lists the days they happen on.
REVENUE_KINDS = (
    "upgrade_mid_period",
    "downgrade_mid_period",
    "seat_increase",
    "plan_switch_same_day",
    "second_subscription",
    "cancel_at_period_end",
    "cancel_immediately",
    "churn_reactivation",
    "trial_converted",
    "trial_lapsed",
    "past_due_recovered",
    "past_due_unpaid",
    "coupon_percent_forever",
    "coupon_amount_repeating",
    "coupon_once",
    "metered_and_one_time",
    "tax",
    "refund",
    "currency_gbp",
    "two_stripe_customers",
    "draft_and_void_invoices",
    "upgrade_recent",
)
MONTHLY = ("month", 1)


def generate(rng: random.Random, kind: str | None, contact_created: int, latest: int) -> list[dict]:
    """The Stripe customers (facts) of one person: [] never happens; a person without Stripe has no call."""
    currency = "usd"
    if kind == "currency_eur" or (kind is None and rng.random() < 0.03):
        currency = "eur"
    elif kind == "currency_gbp" or (kind is None and rng.random() < 0.02):
        currency = "gbp"
    customer = {
        "id": f"cus_{token(rng)}",
        "created": contact_created,
        "currency": currency,
        "delinquent": False,
        "subscriptions": [],
    }
    if kind == "stripe_without_subscriptions":
        return [customer]
    if kind in REVENUE_KINDS:
        _revenue_case(rng, kind, customer, contact_created, latest)
    else:
        count = (
            3 if kind == "several_subscriptions" else 1 if kind else weighted(rng, ((1, 87), (2, 10), (3, 3)))
        )
        for n in range(count):
            if kind == "several_subscriptions":
                status = ("active", "active", "canceled")[n]
            else:
                status = (FORCED_STATUS.get(kind) or ("active" if kind else None)) if n == 0 else None
            status = status or weighted(rng, STATUSES)
            sub = _random_subscription(
                rng, kind if n == 0 else None, status, customer, contact_created, latest
            )
            customer["subscriptions"].append(sub)
    subs = customer["subscriptions"]
    customer["delinquent"] = kind == "active_delinquent" or bool(
        subs and status_at(subs[0], latest) in ("past_due", "unpaid")
    )
    customers = [customer]
    if kind == "two_stripe_customers":
        twin = {**customer, "id": f"cus_{token(rng)}", "created": contact_created + DAY, "subscriptions": []}
        twin["subscriptions"].append(
            new_subscription(rng, twin["id"], currency, latest - 200 * DAY, "Starter", MONTHLY, 2)
        )
        customers.append(twin)
    for each in customers:
        for sub in each["subscriptions"]:
            sub["history_end"] = latest
    return customers


def _tier_and_quantity(rng: random.Random) -> tuple[str, int]:
    tier = weighted(rng, tuple((name, weight) for name, _, weight in TIERS))
    quantity = rng.randint(2, 6) if tier in ("Business", "Enterprise") else 1
    return tier, quantity


def _random_subscription(
    rng: random.Random, kind: str | None, status: str, customer: dict, contact_created: int, latest: int
) -> dict:
    """A subscription that is in `status` at `latest`, with random history for unslotted customers."""
    tier, quantity = _tier_and_quantity(rng)
    cadence = FORCED_CADENCE.get(kind) or weighted(rng, CADENCES)
    if kind is None and quantity == 1 and rng.random() < 0.1:
        quantity = rng.randint(2, 5)
    if kind == "seats":
        quantity = rng.randint(3, 12)
    if kind == "quantity_missing":
        quantity = 1
    if status in ("trialing", "incomplete"):
        created = max(contact_created, latest - rng.randint(0, 10) * DAY - rng.randint(0, DAY - 1))
    else:
        created = contact_created + rng.randint(0, max(0, min(30 * DAY, latest - contact_created - DAY)))
    sub = new_subscription(rng, customer["id"], customer["currency"], created, tier, cadence, quantity)
    sub["quantity_attribute_missing"] = kind == "quantity_missing" or (kind is None and rng.random() < 0.03)
    if status == "trialing":
        sub["trial_end"] = created + 14 * DAY
        return sub
    if status == "incomplete":
        sub["failure"] = {"period": 0, "outcome": "incomplete", "at": created}
        return sub
    count = period_count(sub, latest)
    last = count - 1
    if status == "canceled":
        p = rng.randint(1, max(1, count - 1)) if count > 1 else 1
        end = period_start(created, sub["interval"], sub["interval_count"], p)
        if end > latest or rng.random() < 0.5:  # immediately, inside period p - 1
            begin = period_start(created, sub["interval"], sub["interval_count"], p - 1)
            end = begin + rng.randint(1, max(1, min(end, latest) - begin - 1))
            sub["canceled_at"] = sub["ended_at"] = end
        else:  # at the end of period p - 1, requested some days before
            sub["cancel_at_period_end"] = True
            sub["ended_at"] = end
            sub["canceled_at"] = max(created + 1, end - rng.randint(1, 20) * DAY)
        return sub
    if status == "past_due":
        sub["failure"] = {"period": last, "outcome": "open", "at": latest}
    elif status == "unpaid":
        n = max(0, last - 1)
        begin = period_start(created, sub["interval"], sub["interval_count"], n)
        sub["failure"] = {
            "period": n,
            "outcome": "unpaid",
            "at": max(begin + 3600, min(begin + 14 * DAY, latest - 3600)),
        }
    elif kind in ("payment_failed_and_partial_refund", "payment_full_refund"):
        begin = period_start(created, sub["interval"], sub["interval_count"], last)
        if kind == "payment_failed_and_partial_refund":
            sub["failure"] = {"period": last, "outcome": "recovered", "at": min(begin + DAY, latest)}
            sub["refund"] = {"period": max(0, last - 1), "share": 0.5}
        else:
            sub["refund"] = {"period": last, "share": 1.0}
    elif kind is None and status == "active":
        _random_events(rng, sub, count, latest)
    return sub


def _random_events(rng: random.Random, sub: dict, count: int, latest: int) -> None:
    """Upgrades, seat changes, coupons, metered items, refunds and recovered failures at realistic rates."""
    interval, interval_count = sub["interval"], sub["interval_count"]
    if count >= 3 and rng.random() < 0.10:
        n = rng.randint(1, count - 2)
        begin = period_start(sub["created"], interval, interval_count, n)
        end = period_start(sub["created"], interval, interval_count, n + 1)
        at = begin + rng.randint(DAY, max(DAY, end - begin - DAY))
        phase = sub["phases"][-1]
        names = [name for name, _, _ in TIERS]
        tier = names[min(len(names) - 1, names.index(phase["tier"]) + 1)]
        if rng.random() < 0.4:
            sub["phases"].append(
                {"at": at, "tier": phase["tier"], "quantity": phase["quantity"] + rng.randint(1, 3)}
            )
        elif tier != phase["tier"]:
            sub["phases"].append({"at": at, "tier": tier, "quantity": phase["quantity"]})
    if rng.random() < 0.06:
        n = rng.randint(0, max(0, count - 1))
        sub["discount"] = {
            "coupon": rng.choice(sorted(COUPONS)),
            "start": period_start(sub["created"], interval, interval_count, n),
        }
    if rng.random() < 0.03 and interval == "month" and interval_count == 1:
        sub["metered"] = True
    if rng.random() < 0.03:
        sub["one_time"] = True
    if rng.random() < 0.10:
        sub["tax"] = True
    if count >= 2 and rng.random() < 0.04:
        n = rng.randint(0, count - 2)
        begin = period_start(sub["created"], interval, interval_count, n)
        sub["failure"] = {"period": n, "outcome": "recovered", "at": begin + rng.randint(1, 5) * DAY}
    if count >= 1 and rng.random() < 0.04:
        sub["refund"] = {"period": rng.randint(0, count - 1), "share": rng.choice((1.0, 0.25))}


def _revenue_case(rng: random.Random, kind: str, customer: dict, contact_created: int, latest: int) -> None:
    """The primary subscription (and any other) of a revenue edge-case slot, dated relative to `latest`."""
    cid, cur = customer["id"], customer["currency"]
    start = min(contact_created, latest - 400 * DAY)  # two years of history for the slots
    start = max(start, latest - 700 * DAY)
    customer["created"] = min(customer["created"], start)
    subs = customer["subscriptions"]
    sub = new_subscription(rng, cid, cur, start, "Pro", MONTHLY, 1)
    subs.append(sub)
    count = period_count(sub, latest)

    def mid(n: int, fraction: float = 0.4) -> int:
        begin = period_start(start, "month", 1, n)
        end = period_start(start, "month", 1, n + 1)
        return midday(begin + int((end - begin) * fraction))

    if kind == "upgrade_mid_period":
        sub["phases"].append({"at": mid(count - 4), "tier": "Business", "quantity": 1})
    elif kind == "upgrade_recent":  # only the current items and the events know it
        sub["phases"].append({"at": midday(latest - 6 * DAY), "tier": "Business", "quantity": 1})
    elif kind == "downgrade_mid_period":
        sub["phases"][0]["tier"] = "Business"
        sub["phases"].append({"at": mid(count - 5), "tier": "Pro", "quantity": 1})
    elif kind == "seat_increase":
        sub["phases"][0].update(tier="Business", quantity=3)
        sub["phases"].append({"at": mid(count - 3, 0.5), "tier": "Business", "quantity": 5})
    elif kind == "plan_switch_same_day":
        switch = mid(count - 3)
        sub["canceled_at"] = sub["ended_at"] = switch
        subs.append(new_subscription(rng, cid, cur, switch + 3600, "Business", MONTHLY, 1))
    elif kind == "second_subscription":
        subs.append(new_subscription(rng, cid, cur, midday(latest - 45 * DAY), "Starter", MONTHLY, 2))
    elif kind == "cancel_at_period_end":
        end = period_start(start, "month", 1, count - 2)
        sub["cancel_at_period_end"] = True
        sub["canceled_at"], sub["ended_at"] = end - 12 * DAY, end
    elif kind == "cancel_immediately":
        sub["canceled_at"] = sub["ended_at"] = mid(count - 3, 0.3)
    elif kind == "churn_reactivation":
        sub["cancel_at_period_end"] = True
        end = period_start(start, "month", 1, count - 8)
        sub["canceled_at"], sub["ended_at"] = end - 5 * DAY, end
        subs.append(new_subscription(rng, cid, cur, midday(latest - 95 * DAY), "Pro", MONTHLY, 1))
    elif kind == "trial_converted":
        sub["created"] = sub["phases"][0]["at"] = midday(latest - 75 * DAY)
        sub["trial_end"] = sub["created"] + 14 * DAY
    elif kind == "trial_lapsed":
        sub["created"] = sub["phases"][0]["at"] = midday(latest - 50 * DAY)
        sub["trial_end"] = sub["ended_at"] = sub["created"] + 14 * DAY
    elif kind == "past_due_recovered":
        begin = period_start(start, "month", 1, count - 3)
        sub["failure"] = {"period": count - 3, "outcome": "recovered", "at": begin + 6 * DAY}
    elif kind == "past_due_unpaid":
        begin = period_start(start, "month", 1, count - 2)
        sub["failure"] = {"period": count - 2, "outcome": "unpaid", "at": begin + 14 * DAY}
    elif kind == "coupon_percent_forever":
        sub["discount"] = {"coupon": "cp_percent20_forever", "start": period_start(start, "month", 1, 2)}
    elif kind == "coupon_amount_repeating":
        sub["discount"] = {
            "coupon": "cp_amount50_repeating3",
            "start": period_start(start, "month", 1, count - 2),
        }
    elif kind == "coupon_once":
        sub["discount"] = {"coupon": "cp_percent50_once", "start": period_start(start, "month", 1, count - 3)}
    elif kind == "metered_and_one_time":
        sub["metered"] = sub["one_time"] = True
    elif kind == "tax":
        sub["tax"] = True
    elif kind == "refund":
        sub["refund"] = {"period": count - 2, "share": 1.0}
    elif kind == "draft_and_void_invoices":
        sub["void_period"] = count - 2
        sub["draft"] = True


# ---- derived: Stripe objects ---------------------------------------------------------------------------
def sub_price(sub: dict, phase: dict) -> dict:
    """The price object of a phase."""
    return price(phase["tier"], sub["interval"], sub["interval_count"], sub["currency"])


def _line(
    rng: random.Random,
    sub: dict,
    kind: str,
    price_obj: dict,
    quantity: int,
    amount: int,
    start: int,
    end: int,
    proration: bool = False,
    description: str = "",
) -> dict:
    return {
        "id": f"il_{token(rng)}",
        "object": "line_item",
        "amount": amount,
        "currency": sub["currency"],
        "description": description or f"{quantity} x {price_obj['nickname']}",
        "discount_amounts": [],
        "discountable": True,
        "invoice_item": f"ii_{token(rng)}" if kind == "invoiceitem" else None,
        "livemode": False,
        "metadata": {},
        "period": {"start": start, "end": end},
        "price": price_obj,
        "proration": proration,
        "quantity": quantity,
        "subscription": sub["id"],
        "subscription_item": sub["item_id"] if kind == "subscription" else None,
        "tax_amounts": [],
        "type": kind,
    }


def ledger(sub: dict, latest: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(invoices with lines, charges, refunds) of a subscription up to `latest`, oldest first."""
    rng = random.Random(sub["seed"])
    invoices: list[dict] = []
    charges: list[dict] = []
    refunds: list[dict] = []
    discount_id = f"di_{token(rng)}"
    if sub["trial_end"]:
        phase = sub["phases"][0]
        trial_line = _line(
            rng,
            sub,
            "subscription",
            sub_price(sub, phase),
            phase["quantity"],
            0,
            sub["created"],
            sub["trial_end"],
            description=f"Trial period for {phase['tier']}",
        )
        invoices.append(_invoice(rng, sub, sub["created"], [trial_line], "paid", "subscription_create", 0, 0))
    bounds = periods(sub, latest)
    discount_seen = False
    for k, (begin, end) in enumerate(bounds):
        phase = phase_at(sub, begin)
        unit = sub_price(sub, phase)["unit_amount"]
        lines = [
            _line(
                rng,
                sub,
                "subscription",
                sub_price(sub, phase),
                phase["quantity"],
                unit * phase["quantity"],
                begin,
                end,
            )
        ]
        if k > 0:
            previous = bounds[k - 1][0]
            for change in sub["phases"][1:]:
                if previous < change["at"] < begin:
                    old = phase_at(sub, change["at"] - 1)
                    share = (begin - change["at"]) / (begin - previous)
                    for sign, ph in ((-1, old), (1, change)):
                        p = sub_price(sub, ph)
                        amount = sign * round(p["unit_amount"] * ph["quantity"] * share)
                        label = "Unused time on" if sign < 0 else "Remaining time on"
                        lines.append(
                            _line(
                                rng,
                                sub,
                                "invoiceitem",
                                p,
                                ph["quantity"],
                                amount,
                                change["at"],
                                begin,
                                True,
                                f"{label} {ph['quantity']} x {ph['tier']}",
                            )
                        )
            if sub["metered"]:
                usage = rng.randint(500, 5000)
                lines.append(
                    _line(
                        rng,
                        sub,
                        "subscription",
                        metered_price(sub["currency"]),
                        usage,
                        usage * METERED_UNIT_CENTS,
                        previous,
                        begin,
                    )
                )
        if sub["one_time"] and k == 0:
            lines.append(
                _line(
                    rng,
                    sub,
                    "invoiceitem",
                    one_time_price(sub["currency"]),
                    1,
                    ONE_TIME_FEE_CENTS,
                    begin,
                    begin,
                    description="Onboarding fee",
                )
            )
        first_after = bool(sub["discount"]) and begin >= sub["discount"]["start"] and not discount_seen
        discount_seen = discount_seen or first_after
        discounted = 0
        if coupon_applies(sub, begin, first_after):
            fields = COUPONS[sub["discount"]["coupon"]]
            left = fields["amount_off"] or 0
            for line in lines:
                if line["amount"] <= 0:
                    continue
                if fields["percent_off"]:
                    off = round(line["amount"] * fields["percent_off"] / 100)
                else:
                    off = min(left, line["amount"])
                    left -= off
                line["discount_amounts"] = [{"amount": off, "discount": discount_id}]
                discounted += off
        tax = 0
        if sub["tax"]:
            for line in lines:
                net = line["amount"] - sum(d["amount"] for d in line["discount_amounts"])
                line_tax = round(net * TAX_RATE_PERCENT / 100) if net > 0 else 0
                line["tax_amounts"] = [{"amount": line_tax, "inclusive": False, "tax_rate": TAX_RATE_ID}]
                tax += line_tax
        reason = "subscription_create" if k == 0 and not sub["trial_end"] else "subscription_cycle"
        if any(line["proration"] for line in lines):
            reason = "subscription_cycle"
        invoice = _invoice(rng, sub, begin, lines, "paid", reason, discounted, tax)
        if discounted:
            invoice["discount"] = discount_object(sub)
        invoices.append(invoice)
        _pay(rng, sub, invoice, k, latest, charges, refunds)
        if sub["void_period"] == k:
            void_lines = [
                dict(line, id=f"il_{token(rng)}", quantity=line["quantity"] + 1) for line in lines[:1]
            ]
            void = _invoice(rng, sub, begin + 1800, void_lines, "void", "manual", 0, 0)
            void["status_transitions"]["voided_at"] = begin + 3600
            invoices.append(void)
        if sub["draft"] and k == len(bounds) - 1:
            next_end = period_start(billing_anchor(sub), sub["interval"], sub["interval_count"], k + 2)
            draft_line = _line(
                rng,
                sub,
                "subscription",
                sub_price(sub, phase),
                phase["quantity"] + 2,
                unit * (phase["quantity"] + 2),
                end,
                next_end,
            )
            draft_at = (sub["history_end"] or latest) - 3600
            draft = _invoice(rng, sub, draft_at, [draft_line], "draft", "subscription_cycle", 0, 0)
            invoices.append(draft)
    return invoices, charges, refunds


def _invoice(
    rng: random.Random,
    sub: dict,
    created: int,
    lines: list[dict],
    status: str,
    reason: str,
    discounted: int,
    tax: int,
) -> dict:
    subtotal = sum(line["amount"] for line in lines)
    total = subtotal - discounted + tax
    invoice_id = f"in_{token(rng)}"
    for line in lines:
        line["invoice"] = invoice_id
    sub_lines = [line for line in lines if line["type"] == "subscription"]
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": total,
        "amount_paid": total if status == "paid" else 0,
        "amount_remaining": 0 if status in ("paid", "void") else total,
        "attempt_count": 0,
        "attempted": False,
        "billing_reason": reason,
        "charge": None,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": sub["currency"],
        "customer": sub["customer"],
        "discount": None,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "paid": status == "paid",
        "period_start": sub_lines[0]["period"]["start"] if sub_lines else created,
        "period_end": sub_lines[0]["period"]["end"] if sub_lines else created,
        "status": status,
        "status_transitions": {
            "finalized_at": None if status == "draft" else created,
            "marked_uncollectible_at": None,
            "paid_at": created if status == "paid" else None,
            "voided_at": None,
        },
        "subscription": sub["id"],
        "subtotal": subtotal,
        "tax": tax or None,
        "total": total,
        "total_discount_amounts": [{"amount": discounted, "discount": None}] if discounted else [],
        "total_tax_amounts": [{"amount": tax, "inclusive": False, "tax_rate": TAX_RATE_ID}] if tax else [],
    }


def _charge(rng: random.Random, sub: dict, invoice: dict, created: int, succeeded: bool) -> dict:
    return {
        "id": f"ch_{token(rng)}",
        "object": "charge",
        "amount": invoice["total"],
        "amount_captured": invoice["total"] if succeeded else 0,
        "amount_refunded": 0,
        "captured": succeeded,
        "created": created,
        "currency": sub["currency"],
        "customer": sub["customer"],
        "failure_code": None if succeeded else "card_declined",
        "failure_message": None if succeeded else "Your card was declined.",
        "invoice": invoice["id"],
        "livemode": False,
        "paid": succeeded,
        "refunded": False,
        "status": "succeeded" if succeeded else "failed",
    }


def _pay(
    rng: random.Random,
    sub: dict,
    invoice: dict,
    k: int,
    latest: int,
    charges: list[dict],
    refunds: list[dict],
) -> None:
    """Attempt payment of the invoice of period k as the subscription's failure episode says."""
    if invoice["total"] <= 0:
        return
    begin = invoice["created"]
    failure = sub["failure"] if sub["failure"] and sub["failure"]["period"] == k else None
    attempts: list[tuple[int, bool]] = [(begin + 3600, True)]
    if failure:
        outcome, at = failure["outcome"], failure["at"]
        if outcome == "incomplete":
            attempts = [(begin + 60, False)]
        else:
            retries = [begin + 3600 + n * 2 * DAY for n in range(4)]
            attempts = [(t, False) for t in retries if t < min(at, latest)] or [(begin + 60, False)]
            if outcome == "recovered":
                attempts.append((at, True))
    for created, succeeded in attempts:
        charges.append(_charge(rng, sub, invoice, min(created, sub["history_end"] or latest), succeeded))
    invoice["attempt_count"] = len(attempts)
    invoice["attempted"] = True
    last = charges[-1]
    invoice["charge"] = last["id"]
    if last["status"] == "succeeded":
        invoice["status_transitions"]["paid_at"] = last["created"]
    else:
        invoice["paid"] = False
        invoice["amount_paid"] = 0
        invoice["amount_remaining"] = invoice["total"]
        invoice["status_transitions"]["paid_at"] = None
        invoice["status"] = "open"
        if failure and failure["outcome"] == "unpaid":
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = failure["at"]
    refund = sub["refund"]
    if refund and refund["period"] == k and last["status"] == "succeeded":
        amount = round(last["amount"] * refund["share"])
        created = min(latest, last["created"] + 2 * DAY)
        last["amount_refunded"] = amount
        last["refunded"] = amount == last["amount"]
        refunds.append(
            {
                "id": f"re_{token(rng)}",
                "object": "refund",
                "amount": amount,
                "charge": last["id"],
                "created": created,
                "currency": last["currency"],
                "reason": "requested_by_customer",
                "status": "succeeded",
            }
        )


def discount_object(sub: dict) -> dict | None:
    """The subscription's `discount` (2024-06-20), while it lasts."""
    discount = sub["discount"]
    if not discount:
        return None
    return {
        "id": f"di_{sub['id'][4:]}",
        "object": "discount",
        "coupon": coupon(discount["coupon"], sub["currency"]),
        "customer": sub["customer"],
        "end": discount_end(sub),
        "start": discount["start"],
        "subscription": sub["id"],
    }


def subscription_object(sub: dict, latest: int) -> dict:
    """The subscription as `GET /v1/subscriptions/{id}` answers at `latest` (API 2024-06-20)."""
    status = status_at(sub, latest)
    phase = phase_at(sub, latest)
    bounds = periods(sub, latest)
    if sub["trial_end"] and (status == "trialing" or not bounds):
        current = (sub["created"], sub["trial_end"])
    else:
        current = bounds[-1] if bounds else (sub["created"], sub["created"])
    items = [
        {
            "id": sub["item_id"],
            "object": "subscription_item",
            "created": sub["created"],
            "price": sub_price(sub, phase),
            "quantity": phase["quantity"],
            "subscription": sub["id"],
        }
    ]
    if sub["metered"]:
        items.append(
            {
                "id": f"si_m{sub['item_id'][3:]}",
                "object": "subscription_item",
                "created": sub["created"],
                "price": metered_price(sub["currency"]),
                "quantity": None,
                "subscription": sub["id"],
            }
        )
    discount = discount_object(sub)
    if discount and discount["end"] is not None and discount["end"] <= latest:
        discount = None
    if (
        discount
        and COUPONS[sub["discount"]["coupon"]]["duration"] == "once"
        and any(start > sub["discount"]["start"] for start, _ in bounds)
    ):
        discount = None
    return {
        "id": sub["id"],
        "object": "subscription",
        "billing_cycle_anchor": billing_anchor(sub),
        "cancel_at": sub["ended_at"] if sub["cancel_at_period_end"] else None,
        "cancel_at_period_end": sub["cancel_at_period_end"] and status != "canceled",
        "canceled_at": sub["canceled_at"],
        "collection_method": "charge_automatically",
        "created": sub["created"],
        "currency": sub["currency"],
        "current_period_end": current[1],
        "current_period_start": current[0],
        "customer": sub["customer"],
        "discount": discount,
        "discounts": [discount["id"]] if discount else [],
        "ended_at": sub["ended_at"],
        "items": {
            "object": "list",
            "data": items,
            "has_more": False,
            "total_count": len(items),
            "url": f"/v1/subscription_items?subscription={sub['id']}",
        },
        "livemode": False,
        "plan": None,
        "quantity": phase["quantity"],
        "start_date": sub["created"],
        "status": status,
        "trial_end": sub["trial_end"],
        "trial_start": sub["created"] if sub["trial_end"] else None,
    }


def customer_object(customer: dict, email: str | None, name: str | None) -> dict:
    """The Stripe customer object."""
    return {
        "id": customer["id"],
        "object": "customer",
        "created": customer["created"],
        "currency": customer["currency"],
        "delinquent": customer["delinquent"],
        "description": None,
        "email": email,
        "livemode": False,
        "metadata": {},
        "name": name,
    }


# ---- derived: Intercom's Stripe attributes -------------------------------------------------------------
def intercom_attributes(customer: dict, latest: int) -> tuple[list[dict], list[dict]]:
    """("Stripe Subscriptions", "Stripe Payments") of Intercom's Stripe app: the state at `latest`."""
    subscriptions, charges = [], []
    for sub in customer["subscriptions"]:
        obj = subscription_object(sub, latest)
        phase_price = obj["items"]["data"][0]["price"]
        snapshot = {
            "id": sub["id"],
            "status": obj["status"],
            "quantity": obj["quantity"],
            "plan": {
                "id": phase_price["id"],
                "amount": phase_price["unit_amount"],
                "interval": sub["interval"],
                "interval_count": sub["interval_count"],
                "nickname": phase_price["nickname"],
                "currency": sub["currency"],
            },
            "current_period_start": obj["current_period_start"],
            "current_period_end": obj["current_period_end"],
            "created": sub["created"],
        }
        if sub.get("quantity_attribute_missing"):
            del snapshot["quantity"]
        subscriptions.append(snapshot)
        charges.extend(ledger(sub, latest)[1])
    payments = [
        {key: charge[key] for key in ("id", "amount", "amount_refunded", "currency", "created", "status")}
        for charge in sorted(charges, key=lambda charge: charge["created"], reverse=True)[:12]
    ]
    return subscriptions, payments


# ---- derived: ChartMogul's reading ---------------------------------------------------------------------
MONTHLY_FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12}


def day_of(ts: int) -> int:
    """The UTC day number (days since 1970-01-01) of `ts`."""
    return ts // DAY


def chartmogul_mrr(sub: dict, day: int, now: int) -> int:
    """ChartMogul's MRR in cents of a subscription on `day`: from the first paid service period to the end
    of the last invoiced one (unpaid subscriptions stay until canceled), net of the invoice's discount (a
    `once` coupon lowers its one invoice), never during a trial or while incomplete."""
    failure = sub["failure"]
    if failure and failure["outcome"] == "incomplete":
        return 0
    bounds = periods(sub, now)
    if not bounds or day < day_of(bounds[0][0]):
        return 0
    if sub["ended_at"] is not None and day >= day_of(bounds[-1][1]):
        return 0
    covering = [n for n, (begin, _) in enumerate(bounds) if day_of(begin) <= day]
    begin = bounds[covering[-1]][0]
    phase = phase_at(sub, day * DAY + DAY - 1)
    factor = MONTHLY_FACTOR[sub["interval"]] / sub["interval_count"]
    value = sub_price(sub, phase)["unit_amount"] * phase["quantity"] * factor
    discount = sub["discount"]
    if discount and begin >= discount["start"]:
        fields = COUPONS[discount["coupon"]]
        first = min(b for b, _ in bounds if b >= discount["start"])
        if coupon_applies(sub, begin, begin == first):
            if fields["percent_off"]:
                value *= 1 - fields["percent_off"] / 100
            else:
                value = max(0.0, value - fields["amount_off"] * factor)
    return round(value)


def chartmogul_activities(customer: dict, now: int) -> list[dict]:
    """ChartMogul's MRR activities of one Stripe customer: (day, type, movement cents, mrr cents)."""
    days: set[int] = set()
    for sub in customer["subscriptions"]:
        for begin, end in periods(sub, now):
            days.update((day_of(begin), day_of(end)))
        days.update(day_of(phase["at"]) for phase in sub["phases"])
        if sub["ended_at"] is not None:
            days.add(day_of(sub["ended_at"]))
    activities = []
    previous, ever = 0, False
    for day in sorted(d for d in days if d <= day_of(now)):
        total = sum(chartmogul_mrr(sub, day, now) for sub in customer["subscriptions"])
        if total == previous:
            continue
        if previous == 0:
            kind = "reactivation" if ever else "new_biz"
        elif total == 0:
            kind = "churn"
        else:
            kind = "expansion" if total > previous else "contraction"
        activities.append({"day": day, "type": kind, "movement": total - previous, "mrr": total})
        previous, ever = total, True
    return activities
