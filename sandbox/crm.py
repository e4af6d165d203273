"""Deterministic CRM and call data over the same people as `Company`: HubSpot owners, contacts, companies
and deals, and Calendly hosts, scheduled events and invitees.

Person `p` below `company.customers` is Intercom contact `p` (same name, same email up to case and spaces);
a few more people exist only in HubSpot or only in Calendly (positions from `company.customers`). Every
record is built on demand from its own seeded RNG, and the fields searches filter and sort on come from an
integer hash, so a million customers cost no memory. The only state is the changes made through the control
endpoints (property updates, merges, cancellations, no-shows, new bookings).

Mess sits in fixed slots (`p % 100`, see `CRM_SLOTS`; companies `c % 25`, see `DEAL_SLOTS`) that do not
overlap Intercom's slots 1..52, so every kind is present at any size of 100 customers or more.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import math
import random
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from sandbox.company import DAY, DOMAINS, FIRST_NAMES, LAST_NAMES, Company, _mix64

# ---- fixed mess slots ---------------------------------------------------------------------------------
# person index % 100 -> kind (Intercom uses 1..52; 7 and 8 are one person with two Intercom contacts, which
# HubSpot holds as one contact: 8 was merged into 7).
CRM_SLOTS: dict[int, str] = {
    53: "intercom_only",  # in Intercom, not in HubSpot, no calls
    54: "hubspot_email_case",  # HubSpot email `Title.Case@UPPER.DOMAIN`
    55: "no_owner",  # HubSpot contact without hubspot_owner_id
    56: "owner_left",  # owned by the archived owner (an AM who left)
    57: "calendly_email_messy",  # Calendly invitee email with spaces and capitals
    58: "hubspot_no_email",  # HubSpot contact without an email
    59: "repeated_no_shows",  # four calls in the last 90 days, three of them no-shows
    61: "lifecycle_missing",  # lifecyclestage null
    62: "malformed_createdate",  # HubSpot createdate "2024-13-45T00:00:00.000Z"
    63: "call_rescheduled",  # first booking rescheduled (a canceled event and its replacement)
    64: "call_canceled",  # first booking canceled by the invitee
    65: "call_future_only",  # exactly one call, in the future
    66: "call_cohost",  # first call has two hosts: the AM and a solutions engineer (not an owner)
    67: "host_not_owner",  # calls hosted by another AM than the HubSpot owner
    68: "no_owner_with_calls",  # no HubSpot owner, but calls: the AM is the Calendly host
    69: "malformed_event_start",  # first event's start_time "2024-13-45T10:00:00.000000Z"
}
# company index % 25 -> deal mess (company c holds people 4c .. 4c+3)
DEAL_SLOTS: dict[int, str] = {
    15: "deal_lost",  # one deal, closedlost in the last 30 days
    16: "deal_malformed_amount",  # amount "1,200.00"
    17: "deal_without_contacts",  # one open deal associated with no contact
    18: "two_open_deals",  # two open deals (open value is their sum)
    19: "won_and_open",  # one closedwon and one open deal
}
MALFORMED_HUBSPOT_DATE = "2024-13-45T00:00:00.000Z"
MALFORMED_CALENDLY_TIME = "2024-13-45T10:00:00.000000Z"
MALFORMED_AMOUNT = "1,200.00"

CALENDLY_API = "https://api.calendly.com"
CONTACT_ID_BASE = 10_000_000
COMPANY_ID_BASE = 20_000_000
DEAL_ID_BASE = 30_000_000
PEOPLE_PER_COMPANY = 4
MAX_DEALS = 4  # per company; deal ids are BASE + 4c + k
MAX_BOOKINGS = 4  # per person; booking b is events 2b and 2b+1 (the replacement when rescheduled)
EVENT_SLOTS = 2 * MAX_BOOKINGS

# (owner id, user id, first, last, archived). Tom Becker left: archived in HubSpot, still owns contacts.
OWNERS = (
    ("41000001", 9100001, "Olivia", "Brandt", False),
    ("41000002", 9100002, "Marcus", "Reyes", False),
    ("41000003", 9100003, "Sofia", "Lindqvist", False),
    ("41000004", 9100004, "Daniel", "Okoro", False),
    ("41000005", 9100005, "Aisha", "Rahman", False),
    ("41000006", 9100006, "Tom", "Becker", True),
    ("41000007", 9100007, "Nina", "Kowalski", False),
)
ACTIVE_OWNERS = tuple(i for i, owner in enumerate(OWNERS) if not owner[4])
ARCHIVED_OWNER = next(i for i, owner in enumerate(OWNERS) if owner[4])
OWNER_LEFT_DAYS = 75  # the archived owner left this many days before the anchor
# Calendly-only host: a solutions engineer who co-hosts some calls and is no HubSpot owner.
SOLUTIONS_ENGINEER = ("Sam", "Ortega")
# Marcus signs in to Calendly with a capitalised email: the same AM, different case across sources.
CALENDLY_EMAIL_CASE = {1: "Marcus.Reyes@sandbox-saas.example"}

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
OPEN_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)
CLOSED_STAGES = ("closedwon", "closedlost")
DEAL_AMOUNTS = (348, 1188, 3588, 11988, 35880)
COMPANY_WORDS = (
    (
        "Blue",
        "Amber",
        "Quiet",
        "Rapid",
        "Golden",
        "Silver",
        "North",
        "Bright",
        "Iron",
        "Cedar",
        "Lumen",
        "Nova",
    ),
    ("Harbor", "Forge", "Labs", "Systems", "Analytics", "Works", "Logistics", "Health", "Media", "Robotics"),
    ("Inc", "GmbH", "Ltd", "LLC", "SAS", "BV"),
)
INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "MARKETING_AND_ADVERTISING",
    "FINANCIAL_SERVICES",
    "RETAIL",
    "HOSPITAL_HEALTH_CARE",
)
EVENT_TYPES = (
    ("Onboarding call", 30),
    ("Check-in", 30),
    ("Quarterly business review", 60),
    ("Intro call", 30),
)
TIMEZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
(_T_IN_HS, _T_HS_TIMES, _T_OWNER, _T_DEALS, _T_DEAL, _T_BOOKINGS, _T_BOOKING, _T_EMAIL, _T_STAGE) = range(
    20, 29
)


def iso_ms(ms: int) -> str:
    """HubSpot's timestamp format: `2024-05-01T10:00:00.123Z`."""
    stamp = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def iso_us(seconds: float) -> str:
    """Calendly's timestamp format: `2024-05-01T10:00:00.000000Z`."""
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return f"{stamp:%Y-%m-%dT%H:%M:%S.%f}Z"


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 string or epoch-millisecond value (HubSpot filters accept both)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000
    if not isinstance(value, str):
        return None
    if value.strip().lstrip("-").isdigit():
        return int(value) / 1000
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def clean_email(email: str | None) -> str | None:
    """The deliverable form of an email (trimmed, lower case), or None when it is not an address."""
    if email is None:
        return None
    email = email.strip().lower()
    return email if _EMAIL.match(email) and "." in email.split("@")[1] else None


class CRM:
    """HubSpot and Calendly data of the company: the same people as Intercom, with the mess real CRMs have."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.seed = company.seed
        self.customers = company.customers
        self.extra_people = max(3, company.customers // 20)
        self.anchor_ts = company.anchor_ts
        self.latest_ts = company.latest_ts
        self.earliest_ts = company.earliest_ts
        digest = hashlib.sha256(f"gtm-crm:{company.seed}".encode()).hexdigest()
        self._salt = int(digest[:16], 16)
        letters = "".join(chr(ord("A") + int(c, 16) % 26) for c in digest[16:40])
        self._event_prefix, self._invitee_prefix, self._user_prefix = (
            letters[:6],
            letters[6:12],
            letters[12:18],
        )
        self.organization = f"{CALENDLY_API}/organizations/{letters[18:24]}{'0' * 10}"
        self.owner_left_ms = (self.anchor_ts - OWNER_LEFT_DAYS * DAY) * 1000
        self._lock = threading.Lock()
        self._hs_overrides: dict[tuple[str, int], dict] = {}  # (object type, position) -> changed object
        self._merged_into: dict[int, int] = {}  # merged-away contact position -> survivor position
        self._event_overrides: dict[tuple[int, int], dict] = {}  # (person, slot) -> {"event", "invitees"}
        self._added_events: list[tuple[int, int]] = []
        self.version = 0  # bumped on every change, so caches over query results can key on it

    # ---- hashing ---------------------------------------------------------------------------------------
    def _bits(self, tag: int, index: int, k: int = 0) -> int:
        return _mix64(self._salt ^ (tag << 56) ^ (index << 8) ^ k)

    def _unit(self, tag: int, index: int, k: int = 0) -> float:
        return self._bits(tag, index, k) / 2.0**64

    def slot(self, index: int) -> str | None:
        """The fixed CRM/calls mess kind of person `index`, if any (only Intercom people have one)."""
        return CRM_SLOTS.get(index % 100) if index < self.customers else None

    @staticmethod
    def deal_slot(company_index: int) -> str | None:
        """The fixed deal mess kind of company `company_index`, if any."""
        return DEAL_SLOTS.get(company_index % 25)

    # ---- people ----------------------------------------------------------------------------------------
    @property
    def person_count(self) -> int:
        """Intercom people plus the people only HubSpot or only Calendly knows."""
        return self.customers + self.extra_people

    def origin(self, p: int) -> str:
        """`intercom`, `hubspot_only` or `calendly_only`."""
        if p < self.customers:
            return "intercom"
        return "calendly_only" if (p - self.customers) % 3 == 2 else "hubspot_only"

    def person(self, p: int) -> dict:
        """first, last, name, email (clean), raw_email (as Intercom holds it), role, origin."""
        if p < self.customers:
            person = self.company.person(p)
            name = person["name"]
            rng = random.Random(f"{self.seed}:{p}:person")  # the same draws as Company._person
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if self.company.slot(p) == "email_shared_second":
                first, last = self.person(p - 1)["first"], self.person(p - 1)["last"]
            return {
                "first": first,
                "last": last,
                "name": name or f"{first} {last}",
                "email": clean_email(person["email"]),
                "raw_email": person["email"],
                "role": person["role"],
                "origin": "intercom",
            }
        rng = random.Random(f"{self.seed}:{p}:crm-person")
        first, last, domain = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(DOMAINS)
        email = f"{first}.{last}.{p}@{domain}".lower()
        return {
            "first": first,
            "last": last,
            "name": f"{first} {last}",
            "email": email,
            "raw_email": email,
            "role": "lead",
            "origin": self.origin(p),
        }

    # ---- owners (HubSpot) and hosts (Calendly) --------------------------------------------------------
    @staticmethod
    def owner_email(i: int) -> str:
        first, last = OWNERS[i][2], OWNERS[i][3]
        return f"{first}.{last}@sandbox-saas.example".lower()

    def owner(self, i: int) -> dict:
        """HubSpot owner `i` (GET /crm/v3/owners)."""
        owner_id, user_id, first, last, archived = OWNERS[i]
        created = (self.earliest_ts + i * 40 * DAY) * 1000
        updated = self.owner_left_ms if archived else created + 30 * DAY * 1000
        return {
            "id": owner_id,
            "email": self.owner_email(i),
            "type": "PERSON",
            "firstName": first,
            "lastName": last,
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": iso_ms(created),
            "updatedAt": iso_ms(updated),
            "archived": archived,
            "teams": [{"id": "5500001", "name": "Account Management", "primary": True}],
        }

    def owners(self, archived: bool = False) -> list[dict]:
        """Active owners, or with `archived` only the archived ones (as HubSpot answers `archived=true`)."""
        return [self.owner(i) for i, spec in enumerate(OWNERS) if spec[4] == archived]

    def calendly_user_uri(self, i: int) -> str:
        """Calendly user of owner `i` (i == len(OWNERS): the solutions engineer)."""
        return f"{CALENDLY_API}/users/{self._user_prefix}{i:010d}"

    def calendly_user(self, i: int) -> dict:
        """A Calendly user resource: the AMs (owner i) and the solutions engineer (i == len(OWNERS))."""
        if i == len(OWNERS):
            first, last = SOLUTIONS_ENGINEER
            email = f"{first}.{last}@sandbox-saas.example".lower()
        else:
            first, last = OWNERS[i][2], OWNERS[i][3]
            email = CALENDLY_EMAIL_CASE.get(i, self.owner_email(i))
        slug = f"{first}-{last}".lower()
        created = self.earliest_ts + i * 40 * DAY
        return {
            "uri": self.calendly_user_uri(i),
            "name": f"{first} {last}",
            "slug": slug,
            "email": email,
            "scheduling_url": f"https://calendly.com/{slug}",
            "timezone": "Europe/Berlin",
            "avatar_url": None,
            "created_at": iso_us(created),
            "updated_at": iso_us(created + 30 * DAY),
            "current_organization": self.organization,
            "resource_type": "User",
            "locale": "en",
        }

    def _host_member(self, i: int) -> dict:
        user = self.calendly_user(i)
        return {"user": user["uri"], "user_email": user["email"], "user_name": user["name"]}

    # ---- HubSpot companies ----------------------------------------------------------------------------
    @property
    def company_count(self) -> int:
        return math.ceil(self.customers / PEOPLE_PER_COMPANY)

    def company_of(self, p: int) -> int | None:
        """The company of person `p` (Intercom people only; leads half the time have none)."""
        if p >= self.customers or self.slot(p) == "hubspot_no_email":
            return None
        if self.person(p)["role"] == "lead" and self._unit(_T_OWNER, p, 1) < 0.5:
            return None
        return p // PEOPLE_PER_COMPANY

    def company_owner(self, c: int) -> int | None:
        """Owner index of company `c`: 5% none, 5% the owner who left, else an active AM."""
        u = self._unit(_T_OWNER, c, 2)
        if u < 0.05:
            return None
        if u < 0.10:
            return ARCHIVED_OWNER
        return ACTIVE_OWNERS[int((u - 0.10) / 0.90 * len(ACTIVE_OWNERS))]

    def company_name(self, c: int) -> str:
        rng = random.Random(f"{self.seed}:{c}:hs-company")
        adjective, noun, suffix = (rng.choice(words) for words in COMPANY_WORDS)
        return f"{adjective} {noun} {suffix}"

    def company_id(self, c: int) -> str:
        return str(COMPANY_ID_BASE + c)

    def company_position(self, object_id: str) -> int | None:
        c = _int(object_id) - COMPANY_ID_BASE
        return c if 0 <= c < self.company_count else None

    def _company_times(self, c: int) -> tuple[int, int]:
        bits = self._bits(_T_HS_TIMES, c, 3)
        created_s = self.earliest_ts - 30 * DAY + (self.latest_ts - self.earliest_ts) * (bits >> 40) // 2**24
        created = created_s * 1000 + (bits & 0x3FF) % 1000
        modified = created + int((self.latest_ts * 1000 - created) * ((bits >> 12) & 0xFFFFFFF) / 2**28)
        return created, modified

    def company_modified_ms(self, c: int) -> int:
        override = self._hs_overrides.get(("companies", c))
        return _ms(override["properties"]["hs_lastmodifieddate"]) if override else self._company_times(c)[1]

    def company_record(self, c: int) -> dict:
        override = self._hs_overrides.get(("companies", c))
        if override is not None:
            return copy.deepcopy(override)
        rng = random.Random(f"{self.seed}:{c}:hs-company")
        name = self.company_name(c)
        created, modified = self._company_times(c)
        owner = self.company_owner(c)
        domain = re.sub(r"[^a-z]", "", name.lower().rsplit(" ", 1)[0]) + f"{c}.example"
        properties = {
            "createdate": iso_ms(created),
            "domain": domain,
            "hs_lastmodifieddate": iso_ms(modified),
            "hs_object_id": self.company_id(c),
            "name": name,
            "hubspot_owner_id": OWNERS[owner][0] if owner is not None else None,
            "industry": rng.choice(INDUSTRIES),
            "lifecyclestage": "customer" if rng.random() < 0.7 else "opportunity",
            "numberofemployees": str(rng.choice((5, 12, 40, 120, 600))),
            "hs_merged_object_ids": None,
        }
        return _object(self.company_id(c), properties, created, modified)

    # ---- HubSpot contacts -----------------------------------------------------------------------------
    def contact_exists(self, p: int) -> bool:
        """Whether person `p` is a (live, not merged-away) HubSpot contact; cheap."""
        if p in self._merged_into or not 0 <= p < self.person_count:
            return False
        if p >= self.customers:
            return self.origin(p) == "hubspot_only"
        if self.slot(p) == "intercom_only" or self.company.slot(p) == "email_shared_second":
            return False  # 53: never in HubSpot; 8: merged into 7 before the data starts
        if self.slot(p) is None and self.company.slot(p) is None:
            return self._unit(_T_IN_HS, p) >= 0.06
        return True

    def contact_id(self, p: int) -> str:
        return str(CONTACT_ID_BASE + p)

    def contact_position(self, object_id: str) -> int | None:
        p = _int(object_id) - CONTACT_ID_BASE
        return p if 0 <= p < self.person_count else None

    def _contact_times(self, p: int) -> tuple[int, int]:
        """(createdate, lastmodifieddate) in epoch milliseconds, from the hash alone."""
        bits = self._bits(_T_HS_TIMES, p)
        if p < self.customers:
            signup = self.company.generated_created_at(p)
            created_s = max(self.earliest_ts - 60 * DAY, signup - int((bits >> 48) / 2**16 * 60 * DAY))
        else:
            created_s = self.earliest_ts + (self.latest_ts - self.earliest_ts) * (bits >> 48) // 2**16
        created = created_s * 1000 + (bits & 0x3FF) % 1000
        u = ((bits >> 10) & 0x3FFFFFFF) / 2**30
        latest = self.latest_ts * 1000
        if u < 0.5:  # active half: modified in the last weeks (exponential, mean 10 days)
            modified = latest - int(-10 * DAY * 1000 * math.log(1.0 - 2 * u))
        else:
            modified = created + int((latest - created) * (2 * u - 1))
        return created, max(created, modified - ((bits >> 40) & 0xFF))

    def contact_modified_ms(self, p: int) -> int:
        override = self._hs_overrides.get(("contacts", p))
        return _ms(override["properties"]["lastmodifieddate"]) if override else self._contact_times(p)[1]

    def contact_owner(self, p: int) -> int | None:
        """Owner index of contact `p` (None: no owner)."""
        kind = self.slot(p)
        if kind in ("no_owner", "no_owner_with_calls"):
            return None
        if kind == "owner_left":
            return ARCHIVED_OWNER
        c = self.company_of(p)
        if c is None:
            u = self._unit(_T_OWNER, p, 4)
            return None if u < 0.3 else ACTIVE_OWNERS[int((u - 0.3) / 0.7 * len(ACTIVE_OWNERS))]
        return self.company_owner(c)

    def _lifecycle(self, p: int, rng: random.Random) -> str | None:
        if self.slot(p) == "lifecycle_missing":
            return None
        if rng.random() < 0.02:
            return "other"
        if p >= self.customers:
            return rng.choice(("lead", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity"))
        if self.person(p)["role"] == "lead":
            return rng.choice(("subscriber", "lead", "lead", "marketingqualifiedlead"))
        attributes = self.company.contact(p).get("custom_attributes") or {}
        statuses = {s.get("status") for s in attributes.get("Stripe Subscriptions") or []}
        if statuses & {"active", "past_due", "trialing", "unpaid"}:
            return "evangelist" if rng.random() < 0.05 else "customer"
        if statuses:
            return "other"
        return rng.choice(("salesqualifiedlead", "opportunity"))

    def hubspot_email(self, p: int) -> str | None:
        """The email HubSpot holds for person `p`."""
        person = self.person(p)
        kind = self.slot(p)
        if kind == "hubspot_no_email" or person["email"] is None:
            return None
        local, domain = person["email"].split("@")
        if kind == "hubspot_email_case" or (kind is None and self._unit(_T_EMAIL, p) < 0.02):
            return f"{local.title()}@{domain.upper()}"
        return person["email"]

    def merged_ids(self, p: int) -> list[str]:
        """Ids of the contacts merged into contact `p` (HubSpot's hs_merged_object_ids)."""
        merged = [q for q, survivor in self._merged_into.items() if survivor == p]
        if p < self.customers and self.company.slot(p) == "email_shared_first" and p + 1 < self.customers:
            merged.insert(0, p + 1)
        return [self.contact_id(q) for q in merged]

    def contact_record(self, p: int) -> dict:
        """HubSpot contact `p` with every property the sandbox knows (searches return the requested ones)."""
        override = self._hs_overrides.get(("contacts", p))
        if override is not None:
            return copy.deepcopy(override)
        rng = random.Random(f"{self.seed}:{p}:hs-contact")
        person = self.person(p)
        created, modified = self._contact_times(p)
        owner = self.contact_owner(p)
        c = self.company_of(p)
        merged = self.merged_ids(p)
        properties = {
            "createdate": MALFORMED_HUBSPOT_DATE
            if self.slot(p) == "malformed_createdate"
            else iso_ms(created),
            "email": self.hubspot_email(p),
            "firstname": person["first"],
            "lastname": person["last"],
            "hs_object_id": self.contact_id(p),
            "lastmodifieddate": iso_ms(modified),
            "lifecyclestage": self._lifecycle(p, rng),
            "hubspot_owner_id": OWNERS[owner][0] if owner is not None else None,
            "company": self.company_name(c) if c is not None else None,
            "associatedcompanyid": self.company_id(c) if c is not None else None,
            "phone": f"+1 415 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.4 else None,
            "jobtitle": rng.choice(
                (None, "CEO", "Head of Growth", "Marketing Manager", "Founder", "Ops Lead")
            ),
            "hs_merged_object_ids": ";".join(merged) if merged else None,
        }
        return _object(self.contact_id(p), properties, created, modified)

    # ---- HubSpot deals --------------------------------------------------------------------------------
    def deal_count(self, c: int) -> int:
        kind = self.deal_slot(c)
        if kind in ("two_open_deals", "won_and_open"):
            return 2
        if kind is not None:
            return 1
        u = self._unit(_T_DEALS, c)
        return 0 if u < 0.5 else 1 if u < 0.85 else 2

    def deal_id(self, c: int, k: int) -> str:
        return str(DEAL_ID_BASE + c * MAX_DEALS + k)

    def deal_position(self, object_id: str) -> tuple[int, int] | None:
        c, k = divmod(_int(object_id) - DEAL_ID_BASE, MAX_DEALS)
        return (c, k) if 0 <= c < self.company_count and k < self.deal_count(c) else None

    def _deal_times(self, c: int, k: int) -> tuple[int, int]:
        company_created = self._company_times(c)[0]
        bits = self._bits(_T_DEAL, c, k)
        latest = self.latest_ts * 1000
        created = company_created + int((latest - company_created) * (bits >> 40) / 2**24)
        modified = created + int((latest - created) * ((bits >> 8) & 0xFFFFFFFF) / 2**32)
        return created, modified

    def deal_modified_ms(self, c: int, k: int) -> int:
        override = self._hs_overrides.get(("deals", c * MAX_DEALS + k))
        return _ms(override["properties"]["hs_lastmodifieddate"]) if override else self._deal_times(c, k)[1]

    def deal_stage(self, c: int, k: int) -> str:
        kind = self.deal_slot(c)
        if kind == "deal_lost":
            return "closedlost"
        if kind == "won_and_open":
            return ("closedwon", "contractsent")[k]
        if kind in ("two_open_deals", "deal_without_contacts", "deal_malformed_amount"):
            return OPEN_STAGES[(c + k) % len(OPEN_STAGES)]
        u = self._unit(_T_STAGE, c, k)
        if u < 0.45:
            return OPEN_STAGES[int(u / 0.45 * len(OPEN_STAGES))]
        return "closedwon" if u < 0.8 else "closedlost"

    def deal_contacts(self, c: int, k: int) -> list[str]:
        """Ids of the contacts of deal (c, k) (a merged-away contact's deals moved to its survivor)."""
        if self.deal_slot(c) == "deal_without_contacts":
            return []
        ids: list[str] = []
        first = c * PEOPLE_PER_COMPANY
        wanted = 1 if self._unit(_T_DEAL, c, k + 8) < 0.7 else 2
        for p in range(first, min(first + PEOPLE_PER_COMPANY, self.customers)):
            if self.company_of(p) != c:
                continue
            if p in self._merged_into:
                p = self._merged_into[p]
            elif not self.contact_exists(p):
                continue
            if self.contact_id(p) not in ids:
                ids.append(self.contact_id(p))
            if len(ids) == wanted:
                break
        return ids

    def deal_record(self, c: int, k: int) -> dict:
        override = self._hs_overrides.get(("deals", c * MAX_DEALS + k))
        if override is not None:
            return copy.deepcopy(override)
        rng = random.Random(f"{self.seed}:{c}:{k}:hs-deal")
        created, modified = self._deal_times(c, k)
        stage = self.deal_stage(c, k)
        owner = self.company_owner(c)
        amount: str | None = str(rng.choice(DEAL_AMOUNTS) * rng.choice((1, 1, 1, 2, 3)))
        if rng.random() < 0.1:
            amount = f"{amount}.50"
        if rng.random() < 0.04 and self.deal_slot(c) is None:
            amount = None  # deals without an amount exist
        if self.deal_slot(c) == "deal_malformed_amount":
            amount = MALFORMED_AMOUNT
        if stage in CLOSED_STAGES:
            closed = min(self.latest_ts * 1000, created + rng.randint(10, 120) * DAY * 1000)
            if self.deal_slot(c) == "deal_lost":
                closed = (self.anchor_ts - rng.randint(5, 25) * DAY) * 1000
                modified = max(modified, closed)
        else:
            closed = (self.anchor_ts + rng.randint(5, 90) * DAY) * 1000
        properties = {
            "amount": amount,
            "closedate": iso_ms(closed),
            "createdate": iso_ms(created),
            "dealname": f"{self.company_name(c)} - {rng.choice(('New business', 'Expansion', 'Renewal'))}",
            "dealstage": stage,
            "hs_lastmodifieddate": iso_ms(modified),
            "hs_object_id": self.deal_id(c, k),
            "pipeline": "default",
            "hubspot_owner_id": OWNERS[owner][0] if owner is not None else None,
            "deal_currency_code": "USD",
            "hs_is_closed": "true" if stage in CLOSED_STAGES else "false",
            "hs_is_closed_won": "true" if stage == "closedwon" else "false",
        }
        return _object(self.deal_id(c, k), properties, created, modified)

    # ---- HubSpot changes ------------------------------------------------------------------------------
    def update_object(self, object_type: str, object_id: str, properties: dict) -> dict:
        """Set properties of a contact, company or deal, bump its last-modified date (KeyError: unknown)."""
        with self._lock:
            position, record = self._hs_lookup(object_type, object_id)
            self._set(object_type, position, record, properties)
            self.version += 1
            return copy.deepcopy(record)

    def merge_contacts(self, primary_id: str, merged_id: str) -> dict:
        """HubSpot's contact merge: the merged contact disappears, the survivor keeps the primary's id and
        lists the merged id in hs_merged_object_ids; deals follow the survivor."""
        with self._lock:
            primary, record = self._hs_lookup("contacts", primary_id)
            merged, _ = self._hs_lookup("contacts", merged_id)
            if primary == merged:
                raise ValueError("cannot merge a contact into itself")
            self._merged_into[merged] = primary
            for q, survivor in list(self._merged_into.items()):
                if survivor == merged:
                    self._merged_into[q] = primary
            ids = [i for i in (record["properties"].get("hs_merged_object_ids") or "").split(";") if i]
            self._set("contacts", primary, record, {"hs_merged_object_ids": ";".join([*ids, merged_id])})
            for c in {p // PEOPLE_PER_COMPANY for p in (primary, merged) if p < self.customers}:
                for k in range(self.deal_count(c)):
                    deal = self.deal_record(c, k)
                    self._set("deals", c * MAX_DEALS + k, deal, {})  # the association change touches the deal
            self.version += 1
            return copy.deepcopy(record)

    def _hs_lookup(self, object_type: str, object_id: str) -> tuple[int, dict]:
        if object_type == "contacts":
            p = self.contact_position(object_id)
            if p is None or not self.contact_exists(p):
                raise KeyError(object_id)
            return p, self.contact_record(p)
        if object_type == "companies":
            c = self.company_position(object_id)
            if c is None:
                raise KeyError(object_id)
            return c, self.company_record(c)
        if object_type == "deals":
            position = self.deal_position(object_id)
            if position is None:
                raise KeyError(object_id)
            c, k = position
            return c * MAX_DEALS + k, self.deal_record(c, k)
        raise KeyError(object_type)

    def _set(self, object_type: str, position: int, record: dict, properties: dict) -> None:
        key = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        previous = _ms(record["properties"][key])
        modified = max(int(time.time() * 1000), previous + 1)
        record["properties"].update({name: _string(value) for name, value in properties.items()})
        record["properties"][key] = iso_ms(modified)
        record["updatedAt"] = iso_ms(modified)
        self._hs_overrides[(object_type, position)] = record

    # ---- Calendly bookings ----------------------------------------------------------------------------
    def booking_count(self, p: int) -> int:
        """Calls person `p` booked (0 .. MAX_BOOKINGS); people without a valid email book none."""
        kind = self.slot(p)
        if kind == "intercom_only" or self.person(p)["email"] is None:
            return 0
        if kind == "repeated_no_shows":
            return 4
        if kind == "call_future_only":
            return 1
        u = self._unit(_T_BOOKINGS, p)
        count = 0 if u < 0.5 else 1 if u < 0.75 else 2 if u < 0.87 else 3 if u < 0.95 else 4
        if kind is not None or self.origin(p) == "calendly_only":
            count = max(1, count)
        return count

    def _booking(self, p: int, b: int) -> dict:
        """The cheap facts of booking b of person p: kind, times (epoch seconds), event type."""
        kind = self.slot(p)
        bits = self._bits(_T_BOOKING, p, b)
        u_day, u_hour, u_kind = (
            (bits >> 40) / 2**24,
            ((bits >> 20) & 0xFFFFF) / 2**20,
            (bits & 0xFFFFF) / 2**20,
        )
        anchor_day = self.anchor_ts // DAY
        day = anchor_day - 365 + int(u_day * 395)
        if kind == "repeated_no_shows":
            day = anchor_day - 12 - 18 * b
        elif kind == "call_future_only" or (kind in ("call_rescheduled", "call_canceled") and b == 0):
            day = anchor_day + 3 + int(u_day * 20)
        start = day * DAY + (9 + int(u_hour * 8)) * 3600 + (1800 if u_hour * 16 % 2 >= 1 else 0)
        call_kind = "rescheduled" if u_kind < 0.06 else "canceled" if u_kind < 0.14 else "held"
        if kind == "repeated_no_shows" or kind == "call_future_only" or (kind is not None and b > 0):
            call_kind = "held"
        elif kind == "call_rescheduled" and b == 0:
            call_kind = "rescheduled"
        elif kind == "call_canceled" and b == 0:
            call_kind = "canceled"
        elif kind is not None:
            call_kind = "held"
        type_index = (
            3 if self.origin(p) != "intercom" or self.person(p)["role"] == "lead" else int(u_kind * 997) % 3
        )
        duration = EVENT_TYPES[type_index][1] * 60
        lead = (1 + int(u_hour * 977) % 21) * DAY
        created = max(self.earliest_ts, min(start - lead, self.latest_ts - int(u_kind * 977) % 7200))
        changed = created + int((min(start, self.latest_ts) - created) * ((u_day * 7919) % 1))
        moved_start = start + (2 + int(u_day * 631) % 8) * DAY
        no_show = False
        if kind == "repeated_no_shows":
            no_show = b < 3
        elif call_kind == "held" and kind is None:
            no_show = ((u_kind * 4099) % 1) < 0.12
        return {
            "kind": call_kind,
            "start": start,
            "duration": duration,
            "created": created,
            "changed": changed,  # cancellation / reschedule time
            "moved_start": moved_start,
            "type": type_index,
            "no_show": no_show,
        }

    def event_exists(self, p: int, e: int) -> bool:
        """Whether event slot e of person p holds an event; cheap."""
        if (p, e) in self._event_overrides:
            return True
        if p >= self.person_count or not 0 <= e < EVENT_SLOTS:
            return False
        b, second = divmod(e, 2)
        if b >= self.booking_count(p):
            return False
        return not second or self._booking(p, b)["kind"] == "rescheduled"

    def event_positions(self) -> Iterator[tuple[int, int]]:
        """Every event position in person order (generated, then booked through the control endpoint)."""
        for p in range(self.person_count):
            for b in range(self.booking_count(p)):
                yield p, 2 * b
                if self._booking(p, b)["kind"] == "rescheduled":
                    yield p, 2 * b + 1
        yield from self._added_events

    def event_start(self, p: int, e: int) -> int:
        """start_time (epoch seconds) of an event, cheap; malformed events sort by the generated value."""
        override = self._event_overrides.get((p, e))
        if override is not None and "start" in override:
            return override["start"]
        booking = self._booking(p, e // 2)
        return booking["moved_start"] if e % 2 else booking["start"]

    def event_status(self, p: int, e: int) -> str:
        override = self._event_overrides.get((p, e))
        if override is not None:
            return override["event"]["status"]
        return "active" if e % 2 or self._booking(p, e // 2)["kind"] == "held" else "canceled"

    def event_uuid(self, p: int, e: int) -> str:
        return f"{self._event_prefix}{p:08X}{e:02X}"

    def event_uri(self, p: int, e: int) -> str:
        return f"{CALENDLY_API}/scheduled_events/{self.event_uuid(p, e)}"

    def invitee_uri(self, p: int, e: int) -> str:
        return f"{self.event_uri(p, e)}/invitees/{self._invitee_prefix}{p:08X}{e:02X}"

    def event_position(self, uuid: str) -> tuple[int, int] | None:
        if len(uuid) != 16 or not uuid.startswith(self._event_prefix):
            return None
        try:
            p, e = int(uuid[6:14], 16), int(uuid[14:], 16)
        except ValueError:
            return None
        return (p, e) if self.event_exists(p, e) else None

    def host_index(self, p: int, b: int, start: int) -> int:
        """The AM hosting booking b of person p: the HubSpot owner when active (or before they left)."""
        owner = self.contact_owner(p) if self.contact_exists(p) or p < self.customers else None
        if owner == ARCHIVED_OWNER and start >= self.owner_left_ms // 1000:
            owner = None
        if owner is None:
            return ACTIVE_OWNERS[int(self._unit(_T_BOOKING, p, b + 16) * len(ACTIVE_OWNERS))]
        if self.slot(p) == "host_not_owner":
            return (
                ACTIVE_OWNERS[(ACTIVE_OWNERS.index(owner) + 1) % len(ACTIVE_OWNERS)]
                if owner in ACTIVE_OWNERS
                else owner
            )
        return owner

    def invitee_email(self, p: int, e: int) -> str:
        """The email the invitee typed into Calendly."""
        email = self.person(p)["email"]
        assert email is not None
        local, domain = email.split("@")
        if self.slot(p) == "calendly_email_messy":
            return f"  {local.title()}@{domain.title()} "
        if self.slot(p) is None and self._unit(_T_EMAIL, p, 1 + e) < 0.04:
            return f"{local.title()}@{domain}"
        return email

    def event_record(self, p: int, e: int) -> tuple[dict, list[dict]]:
        """(scheduled event, its invitees) in Calendly's wire format."""
        override = self._event_overrides.get((p, e))
        if override is not None:
            return copy.deepcopy(override["event"]), copy.deepcopy(override["invitees"])
        b, second = divmod(e, 2)
        booking = self._booking(p, b)
        rng = random.Random(f"{self.seed}:{p}:{e}:calendly")
        start = booking["moved_start"] if second else booking["start"]
        end = start + booking["duration"]
        name = EVENT_TYPES[booking["type"]][0]
        canceled = not second and booking["kind"] in ("canceled", "rescheduled")
        created = booking["changed"] if second else booking["created"]
        updated = booking["changed"] if canceled else created
        host = self.host_index(p, b, start)
        members = [self._host_member(host)]
        if self.slot(p) == "call_cohost" and b == 0 or (self.slot(p) is None and rng.random() < 0.03):
            members.append(self._host_member(len(OWNERS)))
        person = self.person(p)
        by_invitee = booking["kind"] == "rescheduled" or rng.random() < 0.7
        cancellation = None
        if canceled:
            cancellation = {
                "canceled_by": person["name"] if by_invitee else members[0]["user_name"],
                "reason": "Rescheduled"
                if booking["kind"] == "rescheduled"
                else rng.choice(
                    (None, "Something came up", "No longer needed", "Conflict with another meeting")
                ),
                "canceler_type": "invitee" if by_invitee else "host",
                "created_at": iso_us(booking["changed"]),
            }
        malformed = self.slot(p) == "malformed_event_start" and e == 0
        event: dict[str, Any] = {
            "uri": self.event_uri(p, e),
            "name": name,
            "meeting_notes_plain": None,
            "meeting_notes_html": None,
            "status": "canceled" if canceled else "active",
            "start_time": MALFORMED_CALENDLY_TIME if malformed else iso_us(start),
            "end_time": iso_us(end),
            "event_type": f"{CALENDLY_API}/event_types/{self._event_prefix}TYPE{booking['type']:06d}",
            "location": {"type": "zoom", "location": f"https://zoom.us/j/{9_000_000_000 + p * 8 + e}"},
            "invitees_counter": {"total": 1, "active": 0 if canceled else 1, "limit": 1},
            "created_at": iso_us(created),
            "updated_at": iso_us(updated),
            "event_memberships": members,
            "event_guests": [],
            "calendar_event": {"kind": "google", "external_id": f"g{p:08x}{e:02x}"},
        }
        if cancellation:
            event["cancellation"] = cancellation
        no_show = None
        if booking["no_show"] and not canceled and end + 3600 < self.latest_ts:
            marked = min(self.latest_ts, end + 600 + int(rng.random() * 10_000))
            no_show = {
                "uri": f"{CALENDLY_API}/invitee_no_shows/N{self._invitee_prefix[1:]}{p:08X}{e:02X}",
                "created_at": iso_us(marked),
            }
        invitee = {
            "uri": self.invitee_uri(p, e),
            "email": self.invitee_email(p, e),
            "first_name": None,
            "last_name": None,
            "name": person["name"],
            "status": "canceled" if canceled else "active",
            "questions_and_answers": [],
            "timezone": rng.choice(TIMEZONES),
            "event": event["uri"],
            "created_at": iso_us(created),
            "updated_at": no_show["created_at"] if no_show else iso_us(updated),
            "tracking": dict.fromkeys(
                ("utm_campaign", "utm_source", "utm_medium", "utm_content", "utm_term", "salesforce_uuid")
            ),
            "text_reminder_number": None,
            "rescheduled": canceled and booking["kind"] == "rescheduled",
            "old_invitee": self.invitee_uri(p, e - 1) if second else None,
            "new_invitee": self.invitee_uri(p, e + 1)
            if canceled and booking["kind"] == "rescheduled"
            else None,
            "cancel_url": f"https://calendly.com/cancellations/{self._invitee_prefix}{p:08X}{e:02X}",
            "reschedule_url": f"https://calendly.com/reschedulings/{self._invitee_prefix}{p:08X}{e:02X}",
            "routing_form_submission": None,
            "payment": None,
            "no_show": no_show,
            "reconfirmation": None,
            "scheduling_method": None,
            "invitee_scheduled_by": None,
        }
        if cancellation:
            invitee["cancellation"] = cancellation
        return event, [invitee]

    # ---- Calendly changes -----------------------------------------------------------------------------
    def _store_event(self, position: tuple[int, int], event: dict, invitees: list[dict], start: int) -> None:
        self._event_overrides[position] = {"event": event, "invitees": invitees, "start": start}
        self.version += 1

    def cancel_event(self, uuid: str, reason: str | None = None, by: str = "host") -> dict:
        """Cancel an event as its host would (KeyError: unknown): event and invitee change now."""
        with self._lock:
            position = self.event_position(uuid)
            if position is None:
                raise KeyError(uuid)
            event, invitees = self.event_record(*position)
            now = iso_us(time.time())
            cancellation = {
                "canceled_by": event["event_memberships"][0]["user_name"],
                "reason": reason,
                "canceler_type": by,
                "created_at": now,
            }
            event.update(status="canceled", updated_at=now, cancellation=cancellation)
            event["invitees_counter"]["active"] = 0
            for invitee in invitees:
                invitee.update(status="canceled", updated_at=now, cancellation=cancellation)
            self._store_event(position, event, invitees, self.event_start(*position))
            return copy.deepcopy(event)

    def mark_no_show(self, invitee_uri: str) -> dict:
        """Calendly's POST /invitee_no_shows: the invitee changes, the scheduled event does not."""
        with self._lock:
            uuid = invitee_uri.split("/scheduled_events/")[-1].split("/")[0]
            position = self.event_position(uuid)
            if position is None:
                raise KeyError(invitee_uri)
            event, invitees = self.event_record(*position)
            invitee = next((i for i in invitees if i["uri"] == invitee_uri), None)
            if invitee is None:
                raise KeyError(invitee_uri)
            now = iso_us(time.time())
            invitee["no_show"] = {"uri": f"{CALENDLY_API}/invitee_no_shows/M{uuid[1:]}", "created_at": now}
            invitee["updated_at"] = now
            self._store_event(position, event, invitees, self.event_start(*position))
            return copy.deepcopy(invitee["no_show"] | {"invitee": invitee_uri})

    def book(self, email: str, name: str, start: int, host: int = 0, minutes: int = 30) -> dict:
        """A new booking (as an invitee makes it): an active event and its invitee, created now."""
        with self._lock:
            position = (self.person_count + len(self._added_events), 0)
            now = iso_us(time.time())
            p, e = position
            uri = self.event_uri(p, e)
            event = {
                "uri": uri,
                "name": "Check-in",
                "meeting_notes_plain": None,
                "meeting_notes_html": None,
                "status": "active",
                "start_time": iso_us(start),
                "end_time": iso_us(start + minutes * 60),
                "event_type": f"{CALENDLY_API}/event_types/{self._event_prefix}TYPE{1:06d}",
                "location": {"type": "zoom", "location": "https://zoom.us/j/1"},
                "invitees_counter": {"total": 1, "active": 1, "limit": 1},
                "created_at": now,
                "updated_at": now,
                "event_memberships": [self._host_member(host)],
                "event_guests": [],
                "calendar_event": None,
            }
            invitee = {
                "uri": self.invitee_uri(p, e),
                "email": email,
                "first_name": None,
                "last_name": None,
                "name": name,
                "status": "active",
                "questions_and_answers": [],
                "timezone": "Europe/Berlin",
                "event": uri,
                "created_at": now,
                "updated_at": now,
                "tracking": {},
                "text_reminder_number": None,
                "rescheduled": False,
                "old_invitee": None,
                "new_invitee": None,
                "cancel_url": None,
                "reschedule_url": None,
                "routing_form_submission": None,
                "payment": None,
                "no_show": None,
                "reconfirmation": None,
                "scheduling_method": None,
                "invitee_scheduled_by": None,
            }
            self._added_events.append(position)
            self._store_event(position, event, [invitee], start)
            return copy.deepcopy(event)


def _object(object_id: str, properties: dict, created_ms: int, modified_ms: int) -> dict:
    return {
        "id": object_id,
        "properties": properties,
        "createdAt": iso_ms(created_ms),
        "updatedAt": iso_ms(modified_ms),
        "archived": False,
    }


def _ms(value: Any) -> int:
    seconds = parse_time(value)
    return 0 if seconds is None else round(seconds * 1000)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _string(value: Any) -> str | None:
    """HubSpot holds every property value as a string (or null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
