"""The product's own database (a ListKit-like admin schema) for the same people as the other vendors.

`ProductDB(crm)` generates accounts, users, logins, credit transactions, exports and seats, deterministic
for (seed, customers, anchor): account `c` is HubSpot company `c` (people 4c .. 4c+3), user `p` is
Intercom person `p` with the same email (lower-cased and trimmed, as a product stores it). Activity has
weekly seasonality (weekdays busier), users who fade out, late-committed rows (`created_at`, the commit
time, trails the event by up to 90 minutes for 3% of rows), accounts near their seat limit and accounts
whose credits run low. Events run from `HISTORY_DAYS` before the anchor to the end of the day after it, so
a build for the anchor has events it must not see.

One generator, one writer for any SQLAlchemy URL: `write(url)` creates the tables (optionally under other
table and column names, `names`) and fills them; a SQLite file for the demo, PostgreSQL in tests.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from sandbox.company import DAY
from sandbox.crm import CRM, PEOPLE_PER_COMPANY, clean_email

HISTORY_DAYS = 120
FUTURE_DAYS = 1  # events on the day after the anchor: invisible to a build for the anchor
WEEKEND_FACTOR = 0.25
LATE_COMMIT_SHARE = 0.03  # rows committed 10..90 minutes after their event time
RATES = ((0.0, 8), (0.1, 10), (0.3, 17), (0.7, 25), (1.2, 22), (2.0, 13), (3.5, 5))  # logins per weekday
FADE_SHARE = 0.2
PAYING_USER_SHARE = 0.99  # Stripe customers with a product user: nearly all
USER_SHARE = 0.92  # other signed-up (Intercom `user`) people
LEAD_USER_SHARE = 0.4
PLANS = (("Starter", 30), ("Growth", 40), ("Pro", 22), ("Agency", 8))
GRANT_FACTORS = ((0.75, 20), (1.0, 30), (1.5, 30), (3.0, 20))  # monthly grant / expected monthly usage
SPARE_SEATS = ((0, 35), (1, 30), (2, 20), (5, 15))  # seats purchased beyond the account's users
BATCH = 5000

# canonical table -> {column: SQLAlchemy type}; the first column is the primary key
SCHEMA: dict[str, dict[str, Any]] = {
    "accounts": {
        "account_id": sa.BigInteger,
        "name": sa.Text,
        "plan": sa.Text,
        "created_at": sa.DateTime,
        "updated_at": sa.DateTime,
    },
    "users": {
        "user_id": sa.BigInteger,
        "account_id": sa.BigInteger,
        "email": sa.Text,
        "name": sa.Text,
        "role": sa.Text,
        "created_at": sa.DateTime,
        "updated_at": sa.DateTime,
        "deactivated_at": sa.DateTime,
    },
    "seats": {"account_id": sa.BigInteger, "seats_purchased": sa.Integer, "updated_at": sa.DateTime},
    "logins": {
        "login_id": sa.BigInteger,
        "user_id": sa.BigInteger,
        "logged_in_at": sa.DateTime,
        "created_at": sa.DateTime,
    },
    "credit_transactions": {
        "transaction_id": sa.BigInteger,
        "account_id": sa.BigInteger,
        "user_id": sa.BigInteger,
        "kind": sa.Text,
        "credits": sa.Integer,
        "occurred_at": sa.DateTime,
        "created_at": sa.DateTime,
    },
    "exports": {
        "export_id": sa.BigInteger,
        "user_id": sa.BigInteger,
        "account_id": sa.BigInteger,
        "row_count": sa.Integer,
        "exported_at": sa.DateTime,
        "created_at": sa.DateTime,
    },
}
# Tables whose rows never change (append-only events); the others are updated in place.
EVENT_TABLES = ("logins", "credit_transactions", "exports")


def _weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _dt(seconds: float) -> datetime.datetime:
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(seconds))


@dataclass
class ProductUser:
    """A product user's profile: who, which account, and how active."""

    user_id: int
    account_id: int
    email: str
    name: str
    role: str
    created_at: int
    deactivated_at: int | None
    rate: float  # logins per weekday while active
    fade_start: int | None  # activity decays from this time on (a user fading out)


@dataclass
class Tables:
    """The generated rows per canonical table (tuples in SCHEMA's column order)."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)


class ProductDB:
    """The product database of the sandbox company (see the module docstring)."""

    def __init__(self, crm: CRM) -> None:
        self.crm = crm
        self.company = crm.company
        self.seed = crm.seed
        self.anchor_ts = crm.anchor_ts
        self.start_ts = self.anchor_ts - HISTORY_DAYS * DAY
        self.end_ts = self.anchor_ts + (FUTURE_DAYS + 1) * DAY  # exclusive

    # ---- people -------------------------------------------------------------------------------------
    def user(self, p: int) -> ProductUser | None:
        """The product user of Intercom person `p`, or None when the person never used the product."""
        if p >= self.company.customers:
            return None
        person = self.company.person(p)
        email = clean_email(person["email"])
        if email is None:
            return None
        rng = random.Random(f"{self.seed}:{p}:product-user")
        if rng.random() > self._user_share(p):
            return None
        signup = self.company.generated_created_at(p) + rng.randint(0, 3 * 3600)
        if rng.random() < 0.1:  # some teams onboard recently: their onboarding is still running
            signup = self.anchor_ts - rng.randint(3, 40) * DAY + rng.randint(0, DAY - 1)
        rate = _weighted(rng, RATES)
        if self.company.slot(p) == "never_seen":
            rate = 0.0
        fade_start = None
        if rng.random() < FADE_SHARE:
            fade_start = self.anchor_ts - rng.randint(5, 80) * DAY
        deactivated = None
        if rng.random() < 0.03:
            deactivated = self.anchor_ts - rng.randint(10, 100) * DAY
        if p % 100 == 6:  # the messy-case person: the product keeps the address as typed, trimmed
            email = person["email"].strip()
        first = p - p % PEOPLE_PER_COMPANY
        role = "owner" if all(self.user_exists(q) is False for q in range(first, p)) else "member"
        name = person["name"] or email.split("@")[0]
        return ProductUser(
            p + 1, p // PEOPLE_PER_COMPANY + 1, email, name, role, signup, deactivated, rate, fade_start
        )

    def _user_share(self, p: int) -> float:
        """The chance that person `p` uses the product: nearly every paying customer, most signed-up users
        (some never got past the signup), few leads."""
        if self.company.has_stripe(p):
            return PAYING_USER_SHARE
        return USER_SHARE if self.company.person(p)["role"] == "user" else LEAD_USER_SHARE

    def user_exists(self, p: int) -> bool:
        """Whether person `p` has a product user (cheap: no profile is built)."""
        if p >= self.company.customers or clean_email(self.company.person(p)["email"]) is None:
            return False
        rng = random.Random(f"{self.seed}:{p}:product-user")
        return rng.random() <= self._user_share(p)

    @cached_property
    def users(self) -> list[ProductUser]:
        """Every product user, in person order."""
        return [u for u in (self.user(p) for p in range(self.company.customers)) if u is not None]

    # ---- activity ------------------------------------------------------------------------------------
    def _daily_rate(self, user: ProductUser, day_ts: int) -> float:
        if day_ts + DAY <= user.created_at:
            return 0.0
        if user.deactivated_at is not None and day_ts >= user.deactivated_at:
            return 0.0
        weekday = datetime.datetime.fromtimestamp(day_ts, datetime.timezone.utc).weekday()
        rate = user.rate * (WEEKEND_FACTOR if weekday >= 5 else 1.0)
        if user.fade_start is not None and day_ts > user.fade_start:
            rate *= math.exp(-(day_ts - user.fade_start) / (10 * DAY))
        return rate

    @staticmethod
    def _commit(rng: random.Random, at: int) -> int:
        if rng.random() < LATE_COMMIT_SHARE:
            return at + rng.randint(600, 5400)
        return at + rng.randint(0, 5)

    @cached_property
    def tables(self) -> dict[str, list[tuple]]:
        """Every table's rows, generated once."""
        logins: list[tuple] = []
        credits: list[tuple] = []
        exports: list[tuple] = []
        usage_by_account: dict[int, int] = {}
        for user in self.users:
            rng = random.Random(f"{self.seed}:{user.user_id}:product-activity")
            for day in range(HISTORY_DAYS + FUTURE_DAYS + 1):
                day_ts = self.start_ts + day * DAY
                for _ in range(_poisson(rng, self._daily_rate(user, day_ts))):
                    at = max(day_ts + rng.randint(6 * 3600, 22 * 3600), user.created_at)
                    if at >= day_ts + DAY:
                        continue
                    logins.append((len(logins) + 1, user.user_id, _dt(at), _dt(self._commit(rng, at))))
                    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
                        used_at = min(at + rng.randint(60, 3600), day_ts + DAY - 1)
                        amount = rng.randint(5, 60)
                        usage_by_account[user.account_id] = usage_by_account.get(user.account_id, 0) + amount
                        credits.append(
                            (
                                0,
                                user.account_id,
                                user.user_id,
                                "usage",
                                -amount,
                                _dt(used_at),
                                _dt(self._commit(rng, used_at)),
                            )
                        )
                    if rng.random() < 0.15:
                        export_at = min(at + rng.randint(60, 1800), day_ts + DAY - 1)
                        exports.append(
                            (
                                len(exports) + 1,
                                user.user_id,
                                user.account_id,
                                rng.randint(50, 5000),
                                _dt(export_at),
                                _dt(self._commit(rng, export_at)),
                            )
                        )
        accounts, seats = [], []
        members: dict[int, list[ProductUser]] = {}
        for user in self.users:
            members.setdefault(user.account_id, []).append(user)
        for account_id, people in members.items():
            rng = random.Random(f"{self.seed}:{account_id}:product-account")
            created = min(u.created_at for u in people)
            c = account_id - 1
            plan = _weighted(rng, PLANS)
            accounts.append((account_id, self.crm.company_name(c), plan, _dt(created), _dt(created + DAY)))
            active = sum(1 for u in people if u.deactivated_at is None)
            seats.append((account_id, active + _weighted(rng, SPARE_SEATS), _dt(created + DAY)))
            monthly_usage = usage_by_account.get(account_id, 0) * 30 / (HISTORY_DAYS + FUTURE_DAYS + 1)
            grant = max(100, int(round(monthly_usage * _weighted(rng, GRANT_FACTORS), -1)))
            first_grant = max(created, self.start_ts - 30 * DAY)
            grant_at = first_grant
            while grant_at < self.end_ts:
                credits.append(
                    (0, account_id, None, "grant", grant, _dt(grant_at), _dt(self._commit(rng, grant_at)))
                )
                grant_at += 30 * DAY
        credits.sort(key=lambda row: (row[5], row[1], row[2] or 0))
        credits = [(n + 1, *row[1:]) for n, row in enumerate(credits)]
        users = [
            (
                u.user_id,
                u.account_id,
                u.email,
                u.name,
                u.role,
                _dt(u.created_at),
                _dt(u.deactivated_at or u.created_at),
                None if u.deactivated_at is None else _dt(u.deactivated_at),
            )
            for u in self.users
        ]
        return {
            "accounts": accounts,
            "users": users,
            "seats": seats,
            "logins": logins,
            "credit_transactions": credits,
            "exports": exports,
        }

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        """The rows of a canonical table as dicts (tests compute expected values from these)."""
        columns = list(SCHEMA[table])
        for row in self.tables[table]:
            yield dict(zip(columns, row, strict=True))

    # ---- writing ------------------------------------------------------------------------------------
    def write(self, url: str, names: Mapping[str, Any] | None = None) -> dict[str, int]:
        """Create the tables in the database at `url` (dropping them first) and fill them; returns row
        counts. `names` renames tables and columns: {table: {"table": new name, "columns": {old: new}}}."""
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        tables = {name: product_table(metadata, name, names) for name in SCHEMA}
        counts = {}
        with engine.begin() as connection:
            metadata.drop_all(connection)
            metadata.create_all(connection)
            for name, table in tables.items():
                columns = [column.name for column in table.columns]
                rows = self.tables[name]
                for start in range(0, len(rows), BATCH):
                    batch = [dict(zip(columns, row, strict=True)) for row in rows[start : start + BATCH]]
                    connection.execute(table.insert(), batch)
                counts[name] = len(rows)
        engine.dispose()
        return counts


def product_table(metadata: sa.MetaData, name: str, names: Mapping[str, Any] | None = None) -> sa.Table:
    """The SQLAlchemy table of canonical table `name`, under the names given in `names` (if any)."""
    spec = (names or {}).get(name, {})
    renamed = spec.get("columns", {})
    columns = [
        sa.Column(renamed.get(column, column), column_type, primary_key=(n == 0))
        for n, (column, column_type) in enumerate(SCHEMA[name].items())
    ]
    return sa.Table(spec.get("table", name), metadata, *columns)


def sqlite_url(path: str) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"
