"""Expected revenue timeline, computed from the sandbox's own subscription histories (Company.billing), never
from the marts: m(c, d) per customer and day under the default policies of metrics.md "Revenue timeline",
the movements, the monthly table, retention and cohorts.

Only the reporting currency (usd) is checked in amounts: the shipped fx_rates seed has no rates, so other
currencies stay out of reporting amounts (they are checked natively in the movements).
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from expected import STATUS_ORDER

from sandbox.billing import COUPONS, phase_at, status_at, sub_price, unit_amount
from sandbox.company import Company

DAY = datetime.timedelta(days=1)
VALID_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FACTORS = {"month": Decimal(1), "year": Decimal(1) / 12, "week": Decimal(52) / 12}


def utc_day(ts: int) -> datetime.date:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).date()


def plus_months(day: datetime.date, months: int) -> datetime.date:
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return day.replace(
        year=year, month=month0 + 1, day=min(day.day, calendar.monthrange(year, month0 + 1)[1])
    )


def month_end(month: datetime.date) -> datetime.date:
    return plus_months(month, 1) - DAY


@dataclass
class Subscription:
    """What m(c, d) of one subscription needs: its counted days and its value per day (cents)."""

    sub_id: str
    currency: str
    start: datetime.date
    end: datetime.date | None
    interval: str
    interval_count: int
    phases: list[tuple[datetime.date, str, int]]  # (from day, tier, quantity)
    discount: tuple[str, datetime.date] | None  # (coupon id, start day)

    def mrr(self, day: datetime.date) -> Decimal:
        if day < self.start or (self.end is not None and day >= self.end):
            return Decimal(0)
        tier, quantity = self.phases[0][1], self.phases[0][2]
        for since, phase_tier, phase_quantity in self.phases:
            if since <= day:
                tier, quantity = phase_tier, phase_quantity
        factor = FACTORS[self.interval] / self.interval_count
        value = Decimal(unit_amount(tier, self.interval, self.interval_count) * quantity) * factor
        if self.discount:
            coupon_id, since = self.discount
            coupon = COUPONS[coupon_id]
            until = (
                plus_months(since, coupon["duration_in_months"])
                if coupon["duration"] == "repeating"
                else None
            )
            if coupon["duration"] != "once" and since <= day and (until is None or day < until):
                if coupon["percent_off"]:
                    value = value * (100 - Decimal(str(coupon["percent_off"]))) / 100
                else:
                    value = max(Decimal(0), value - coupon["amount_off"] * factor)
        return value


@dataclass
class Customer:
    key: str
    subscriptions: list[Subscription] = field(default_factory=list)

    def mrr(self, day: datetime.date, currency: str) -> Decimal:
        return sum((s.mrr(day) for s in self.subscriptions if s.currency == currency), Decimal(0))

    def change_days(self) -> set[datetime.date]:
        days: set[datetime.date] = set()
        for sub in self.subscriptions:
            days.add(sub.start)
            if sub.end:
                days.add(sub.end)
            days.update(since for since, _, _ in sub.phases)
            if sub.discount:
                coupon = COUPONS[sub.discount[0]]
                days.add(sub.discount[1])
                if coupon["duration"] == "repeating":
                    days.add(plus_months(sub.discount[1], coupon["duration_in_months"]))
        return days


def subscription_of(facts: dict) -> Subscription:
    created = utc_day(facts["created"])
    start = max(created, utc_day(facts["trial_end"])) if facts["trial_end"] else created
    end = utc_day(facts["ended_at"]) if facts["ended_at"] is not None else None
    failure = facts["failure"]
    if failure and failure["outcome"] == "incomplete":
        end = start
    elif failure and failure["outcome"] == "unpaid":
        unpaid = utc_day(failure["at"])
        end = unpaid if end is None or unpaid < end else end
    phases = [(utc_day(p["at"]), p["tier"], p["quantity"]) for p in facts["phases"]]
    phases[0] = (min(phases[0][0], start), phases[0][1], phases[0][2])
    discount = facts["discount"]
    return Subscription(
        facts["id"],
        facts["currency"],
        start,
        end,
        facts["interval"],
        facts["interval_count"],
        phases,
        (discount["coupon"], utc_day(discount["start"])) if discount else None,
    )


def customers(company: Company) -> dict[str, Customer]:
    """Every Stripe customer of the company by customer_key (email_key, or stripe:<id> without one)."""
    out: dict[str, Customer] = {}
    for index in range(company.customers):
        for facts in company.billing(index):
            email = (company.person(index)["email"] or "").strip().lower()
            key = email if VALID_EMAIL.match(email) else f"stripe:{facts['id']}"
            customer = out.setdefault(key, Customer(key))
            customer.subscriptions.extend(subscription_of(s) for s in facts["subscriptions"])
    return out


def currencies(customer: Customer) -> set[str]:
    return {s.currency for s in customer.subscriptions}


def movements(
    all_customers: Iterable[Customer], as_of: datetime.date
) -> list[tuple[str, datetime.date, str, str, Decimal]]:
    """(customer_key, day, type, currency, native amount) of every business movement up to T, in cents."""
    out = []
    for customer in all_customers:
        for currency in sorted(currencies(customer)):
            ever = False
            for day in sorted(d for d in customer.change_days() if d <= as_of):
                before, after = customer.mrr(day - DAY, currency), customer.mrr(day, currency)
                if before == after:
                    continue
                if before == 0:
                    kind = "reactivation" if ever else "new_business"
                elif after == 0:
                    kind = "churn"
                else:
                    kind = "expansion" if after > before else "contraction"
                ever = ever or before > 0 or after > 0
                out.append((customer.key, day, kind, currency, after - before))
    return out


def months(first: datetime.date, as_of: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """(first day, last day or T) of each month from `first`'s to T's."""
    out = []
    month = first.replace(day=1)
    while month <= as_of:
        out.append((month, min(month_end(month), as_of)))
        month = plus_months(month, 1)
    return out


def monthly(
    all_customers: dict[str, Customer], as_of: datetime.date, currency: str = "usd"
) -> dict[datetime.date, dict]:
    """The monthly table in `currency` (no FX: the only rated currency), amounts in currency units."""
    every = movements(all_customers.values(), as_of)
    moves = [m for m in every if m[3] == currency]
    first = min(m[1] for m in every)
    table = {}
    previous_end: Decimal = Decimal(0)
    previous_paying = 0
    for start, end in months(first, as_of):
        in_month = [m for m in moves if start <= m[1] <= end]
        row: dict = {
            kind: sum((m[4] for m in in_month if m[2] == kind), Decimal(0)) / 100
            for kind in ("new_business", "expansion", "reactivation", "contraction", "churn")
        }
        paying = [c for c in all_customers.values() if any(c.mrr(end, cur) > 0 for cur in currencies(c))]
        row["ending_mrr"] = sum((c.mrr(end, currency) for c in all_customers.values()), Decimal(0)) / 100
        row["starting_mrr"] = previous_end
        row["paying_customers_start"] = previous_paying
        row["paying_customers_end"] = len(paying)
        counted = [m for m in every if start <= m[1] <= end]  # customers of every currency count
        row["new_customers"] = len({m[0] for m in counted if m[2] == "new_business"})
        row["churned_customers"] = len({m[0] for m in counted if m[2] == "churn"})
        row["reactivated_customers"] = len({m[0] for m in counted if m[2] == "reactivation"})
        table[start] = row
        previous_end, previous_paying = row["ending_mrr"], len(paying)
    return table


def retention(
    all_customers: dict[str, Customer], p0: datetime.date, p1: datetime.date, currency: str = "usd"
) -> dict:
    """NRR, GRR (in `currency` only) and logo retention (every currency) over (P0, P1]."""
    logos = [c for c in all_customers.values() if any(c.mrr(p0, cur) > 0 for cur in currencies(c))]
    rated = [c for c in logos if c.mrr(p0, currency) > 0]
    start = sum((c.mrr(p0, currency) for c in rated), Decimal(0))
    kept = sum((c.mrr(p1, currency) for c in rated), Decimal(0))
    gross = sum((min(c.mrr(p1, currency), c.mrr(p0, currency)) for c in rated), Decimal(0))
    retained = [c for c in logos if any(c.mrr(p1, cur) > 0 for cur in currencies(c))]
    return {
        "customers_start": len(logos),
        "customers_retained": len(retained),
        "nrr": kept / start if start else None,
        "grr": gross / start if start else None,
        "logo_retention": Decimal(len(retained)) / len(logos) if logos else None,
    }


def cohorts(all_customers: dict[str, Customer], as_of: datetime.date) -> dict[tuple[datetime.date, int], int]:
    """Customers of each cohort month still paying at the end of month k (T for T's month)."""
    first_paid: dict[str, datetime.date] = {}
    for customer in all_customers.values():
        days = sorted(d for d in customer.change_days() if d <= as_of)
        for day in days:
            if any(customer.mrr(day, cur) > 0 for cur in currencies(customer)):
                first_paid[customer.key] = day.replace(day=1)
                break
    out: dict[tuple[datetime.date, int], int] = defaultdict(int)
    for key, cohort in first_paid.items():
        customer = all_customers[key]
        for k, (_, end) in enumerate(months(cohort, as_of)):
            out[(cohort, k)] += any(customer.mrr(end, cur) > 0 for cur in currencies(customer))
    return dict(out)


def stripe_plans(
    company: Company, as_of: datetime.date
) -> dict[str, tuple[str | None, str | None, Decimal | None]]:
    """(subscription_status, plan_name, plan_price) per email_key of the Stripe customers at the end of
    T's day: the best status among their subscriptions (metrics.md Revenue), the latest started first on a
    tie, and that subscription's price (nickname, unit amount / 100) at T; Nones without a subscription."""
    end_of_day = (
        int(datetime.datetime.combine(as_of + DAY, datetime.time(), datetime.timezone.utc).timestamp()) - 1
    )
    out: dict[str, tuple[str | None, str | None, Decimal | None]] = {}
    candidates: dict[str, list[tuple]] = defaultdict(list)
    for index in range(company.customers):
        email = (company.person(index)["email"] or "").strip().lower()
        if not VALID_EMAIL.match(email):
            continue
        for facts in company.billing(index):
            out[email] = (None, None, None)
            for sub in facts["subscriptions"]:
                status = status_at(sub, end_of_day)
                price = sub_price(sub, phase_at(sub, end_of_day))
                candidates[email].append(
                    (STATUS_ORDER.index(status), -sub["created"], sub["id"], status, price)
                )
    for email, subs in candidates.items():
        *_, status, price = min(subs, key=lambda c: c[:3])
        out[email] = (status, price["nickname"], Decimal(price["unit_amount"]) / 100)
    return out


def stripe_keys(company: Company) -> set[str]:
    """The email_keys of the Stripe customers with a valid email: each is a customer (metrics.md Identity)."""
    return {key for key in customers(company) if not key.startswith("stripe:")}
