"""Deterministic generator of a fictional SaaS company's Intercom data (contacts with Stripe attributes,
conversations with parts).

Every record is generated on demand from its own seeded RNG, so the company scales to millions of
customers without holding them in memory. Timestamps that searches filter on (created_at, updated_at of
contacts and conversations) come from a cheap integer hash, so a filtered scan can skip records without
building them. The only state kept in memory is the overrides made through `update_*` / `add_contact`.

Deliberate mess sits in fixed slots (`index % 100`, see `SLOTS` and README.md), so every kind is present
at any size of 100 customers or more; the rest is randomised at realistic rates.
"""

from __future__ import annotations

import calendar
import copy
import datetime
import hashlib
import math
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

from sandbox import billing

DAY = 86_400
HISTORY_DAYS = 3 * 365
SLOT_MODULUS = 100
CONVERSATION_ID_BASE = 1_000_000_000
MAX_CONVERSATIONS = 16  # per contact; conversation ids are BASE + index * 16 + k

# Fixed mess slots: contact index % 100 -> kind.
SLOTS: dict[int, str] = {
    1: "lead",
    2: "stripe_without_subscriptions",
    3: "status_attribute_absent",
    4: "active_delinquent",
    5: "delinquent_attribute_absent",
    6: "email_messy_case_spaces",
    7: "email_shared_first",
    8: "email_shared_second",
    9: "email_null",
    10: "email_invalid_no_at",
    11: "email_invalid_localhost",
    12: "email_invalid_space",
    13: "never_seen",
    14: "no_location",
    15: "country_without_city",
    16: "plan_weekly",
    17: "plan_quarterly",
    18: "plan_annual",
    19: "seats",
    20: "quantity_missing",
    21: "several_subscriptions",
    22: "status_past_due",
    23: "status_trialing",
    24: "status_unpaid",
    25: "status_canceled",
    26: "status_incomplete",
    27: "currency_eur",
    28: "payment_failed_and_partial_refund",
    29: "payment_full_refund",
    30: "malformed_created_at",
    31: "malformed_last_seen_at",
    32: "malformed_conversation_created_at",
    33: "lead_conversation",
    34: "conversation_two_contacts",
    36: "cancel_html",
    37: "cancel_wont_renew_entity",
    38: "cancel_wont_renew_plain",
    39: "cancel_in_title",
    40: "cancel_switching",
    41: "cancel_near_miss",
    42: "cancel_old",
    43: "cancel_admin_part",
    44: "cancel_user_part",
    45: "open_rated",
    46: "open_unrated",
    47: "closed_rated",
    48: "closed_unrated",
    49: "snoozed_rated",
    50: "snoozed_unrated",
    51: "open_priority",
    52: "plan_monthly",
    # revenue edge cases of the Stripe histories (billing.py REVENUE_KINDS), one slot each
    **{70 + n: kind for n, kind in enumerate(billing.REVENUE_KINDS)},
}
# Slots 92..96 hold Fathom's meeting mess (fathom.py MEETING_SLOTS); their people are users, never leads, so
# each has an email and an account manager to meet.
MEETING_SLOT_RANGE = range(92, 97)

MALFORMED_TIMESTAMP = "2024-13-45"

# Slot kinds whose contact has exactly one conversation, shaped by the kind.
_CONVERSATION_KINDS = {
    "malformed_conversation_created_at",
    "lead_conversation",
    "conversation_two_contacts",
    "cancel_html",
    "cancel_wont_renew_entity",
    "cancel_wont_renew_plain",
    "cancel_in_title",
    "cancel_switching",
    "cancel_near_miss",
    "cancel_old",
    "cancel_admin_part",
    "cancel_user_part",
    "open_rated",
    "open_unrated",
    "closed_rated",
    "closed_unrated",
    "snoozed_rated",
    "snoozed_unrated",
    "open_priority",
}
_RECENT_CONVERSATION_KINDS = _CONVERSATION_KINDS - {"cancel_old"}
_STRIPE_KINDS = {
    "stripe_without_subscriptions",
    "status_attribute_absent",
    "active_delinquent",
    "delinquent_attribute_absent",
    "plan_weekly",
    "plan_quarterly",
    "plan_annual",
    "plan_monthly",
    "seats",
    "quantity_missing",
    "several_subscriptions",
    "status_past_due",
    "status_trialing",
    "status_unpaid",
    "status_canceled",
    "status_incomplete",
    "currency_eur",
    "payment_failed_and_partial_refund",
    "payment_full_refund",
    *billing.REVENUE_KINDS,
}
_INVALID_EMAILS = {
    "email_invalid_no_at": "not-an-email",
    "email_invalid_localhost": "bob@localhost",
    "email_invalid_space": "a b@x.com",
}

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Umeh",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
)
DOMAINS = (
    "northwind.io",
    "brightlane.co",
    "acme-analytics.com",
    "bluefjord.dev",
    "copperleaf.app",
    "harborlabs.io",
    "mintlytics.com",
    "oakridge.co",
    "pinecrest.ai",
    "quillworks.io",
    "redkite.dev",
    "sundial.app",
    "tidewater.io",
    "umbra.studio",
    "veloxa.com",
)
LOCATIONS = (
    ("United States", "California", "San Francisco", "US", "NA"),
    ("United States", "New York", "New York", "US", "NA"),
    ("United States", "Texas", "Austin", "US", "NA"),
    ("Canada", "Ontario", "Toronto", "CA", "NA"),
    ("United Kingdom", "England", "London", "GB", "EU"),
    ("Germany", "Berlin", "Berlin", "DE", "EU"),
    ("France", "Ile-de-France", "Paris", "FR", "EU"),
    ("Spain", "Catalonia", "Barcelona", "ES", "EU"),
    ("Netherlands", "North Holland", "Amsterdam", "NL", "EU"),
    ("Brazil", "Sao Paulo", "Sao Paulo", "BR", "SA"),
    ("India", "Karnataka", "Bengaluru", "IN", "AS"),
    ("Japan", "Tokyo", "Tokyo", "JP", "AS"),
    ("Australia", "New South Wales", "Sydney", "AU", "OC"),
)
BROWSERS = ("chrome", "firefox", "safari", "edge")
OSES = ("OS X 14.5", "Windows 11", "Windows 10", "Linux", "iOS 17.4", "Android 14")
TEAMMATES = (
    ("814860", "Mark Strong", "mark@sandbox-saas.example"),
    ("814861", "Priya Natarajan", "priya@sandbox-saas.example"),
    ("814862", "Lucas Moretti", "lucas@sandbox-saas.example"),
    ("814863", "Hana Sato", "hana@sandbox-saas.example"),
)
TEAM_IDS = ("5017691", "5017692")
BOT = ("814999", "Operator", "operator@intercom.io")

SUBJECTS = (
    None,
    None,
    None,
    "Question about invoices",
    "Export to CSV",
    "SSO setup",
    "Adding a teammate",
    "API rate limits",
    "Dashboard is slow",
)
BODIES = (
    "<p>Hi! How do I export my dashboard to CSV?</p>",
    "<p>Can we add two more seats to our workspace?</p>",
    "<p>Our invoice shows the wrong VAT number, could you fix it?</p>",
    "<p>We would like to set up <b>SSO</b> with Okta.</p>",
    "<p>The API returns a 502 on the export endpoint since this morning.</p>",
    "<p>Is there a way to schedule reports every Monday?</p>",
    "<p>How do I change the owner of our account?</p>",
    "<p>The dashboard takes a long time to load for large date ranges.</p>",
)
CANCEL_BODIES = (
    "<p>Please cancel our subscription at the end of the term.</p>",
    "<p>We are switching to another tool next month.</p>",
    "<p>We are not renewing this year, budget got cut.</p>",
)
ADMIN_REPLIES = (
    "<p>Thanks for reaching out! Let me look into this.</p>",
    "<p>I have escalated this to our engineers.</p>",
    "<p>This should be fixed now, could you try again?</p>",
)
USER_REPLIES = (
    "<p>Thanks, that worked.</p>",
    "<p>Still seeing the same issue on my side.</p>",
    "<p>Great, appreciate the quick help!</p>",
)
REMARKS = (None, "Quick and helpful", "Took too long", "Solved my problem", "")

_M64 = (1 << 64) - 1
_TAG_TIMES, _TAG_CONV_COUNT, _TAG_CONV_TIMES, _TAG_STRIPE = 1, 2, 3, 4


def _mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in options], weights=[weight for _, weight in options])[0]


def deep_merge(base: dict, changes: dict) -> dict:
    """Return `base` updated with `changes`: dicts merge recursively, anything else (lists too) replaces."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class Company:
    """A fictional SaaS company: `customers` Intercom contacts, their conversations and Stripe data."""

    def __init__(self, seed: int = 42, customers: int = 2000, anchor: datetime.date | None = None) -> None:
        self.seed = seed
        self.customers = customers
        self.anchor = anchor or datetime.datetime.now(datetime.timezone.utc).date()
        self.anchor_ts = calendar.timegm(self.anchor.timetuple())
        self.latest_ts = self.anchor_ts - 2 * DAY  # no generated updated_at is later than this
        self.earliest_ts = self.anchor_ts - HISTORY_DAYS * DAY
        digest = hashlib.sha256(f"gtm-sandbox:{seed}".encode()).hexdigest()
        self._salt = int(digest[:16], 16)
        self._id_prefix = digest[16:32]
        self.workspace_id = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[32:40])
        self._lock = threading.Lock()
        self._contact_overrides: dict[int, dict] = {}
        self._conversation_overrides: dict[tuple[int, int], dict] = {}
        self._added_ids: dict[str, int] = {}
        self._added_conversation_ids: dict[str, int] = {}
        self._billing_changes: dict[int, list[dict]] = {}  # contact index -> price/quantity changes
        self.version = 0  # bumped on every change, so caches over query results can key on it
        # bumped by billing changes only: Stripe's ledger and ChartMogul's data are built from billing(),
        # which no Intercom or HubSpot change touches, so a renamed contact does not make them rebuild
        self.billing_version = 0

    # ---- identities -----------------------------------------------------------------------------------
    @property
    def contact_count(self) -> int:
        """Generated plus added contacts."""
        return self.customers + len(self._added_ids)

    def contact_id(self, index: int) -> str:
        """The Intercom id of contact `index` (24 hex characters, the last 8 encode the index)."""
        override = self._contact_overrides.get(index)
        if override is not None:
            return override["id"]
        return f"{self._id_prefix}{index:08x}"

    def contact_index(self, contact_id: str) -> int | None:
        """The index of a contact id, or None when unknown."""
        if contact_id in self._added_ids:
            return self._added_ids[contact_id]
        if len(contact_id) == 24 and contact_id.startswith(self._id_prefix):
            try:
                index = int(contact_id[16:], 16)
            except ValueError:
                return None
            return index if index < self.customers else None
        return None

    @property
    def conversation_owner_count(self) -> int:
        """Positions to scan for conversations: generated contacts, then one per added conversation."""
        return self.customers + len(self._added_conversation_ids)

    def conversation_id(self, index: int, k: int) -> str:
        """The id of the k-th conversation of contact `index`."""
        if index >= self.customers:
            return self._conversation_overrides[(index, k)]["id"]
        return str(CONVERSATION_ID_BASE + index * MAX_CONVERSATIONS + k)

    def conversation_position(self, conversation_id: str) -> tuple[int, int] | None:
        """(contact index, k) of a conversation id, or None when unknown."""
        if conversation_id in self._added_conversation_ids:
            return self._added_conversation_ids[conversation_id], 0
        if not conversation_id.isdigit():
            return None
        index, k = divmod(int(conversation_id) - CONVERSATION_ID_BASE, MAX_CONVERSATIONS)
        if 0 <= index < self.customers and k < self.conversation_count(index):
            return index, k
        return None

    # ---- cheap fields (no record is built) ------------------------------------------------------------
    def _unit(self, tag: int, index: int, k: int = 0) -> float:
        return _mix64(self._salt ^ (tag << 56) ^ (index << 8) ^ k) / 2.0**64

    @staticmethod
    def slot(index: int) -> str | None:
        """The fixed mess kind of a contact index, if any."""
        return SLOTS.get(index % SLOT_MODULUS)

    def _generated_times(self, index: int) -> tuple[int, int]:
        """(created_at, updated_at) of a generated contact, from the hash alone."""
        kind = SLOTS.get(index % SLOT_MODULUS)
        if kind == "email_shared_second":
            created, updated = self._generated_times(index - 1)
            return created, updated + DAY
        updated_end = self.latest_ts - DAY if kind == "email_shared_first" else self.latest_ts
        created_end = self.anchor_ts - 400 * DAY if kind == "cancel_old" else updated_end
        bits = _mix64(self._salt ^ (_TAG_TIMES << 56) ^ (index << 8))  # 32 bits for each of the two times
        created = self.earliest_ts + (created_end - self.earliest_ts) * (bits >> 32) // 2**32
        u_updated = (bits & 0xFFFFFFFF) / 2.0**32
        if u_updated < 0.5:  # active half: updated in the last weeks (exponential, mean 10 days)
            return created, max(created, updated_end - int(-10 * DAY * math.log(1.0 - 2 * u_updated)))
        return created, created + int((updated_end - created) * (2 * u_updated - 1))

    def contact_created_at(self, index: int) -> Any:
        """created_at of contact `index` as served (an int, or whatever an override holds)."""
        override = self._contact_overrides.get(index)
        if override is not None:
            return override.get("created_at")
        return self._generated_times(index)[0]

    def contact_updated_at(self, index: int) -> Any:
        """updated_at of contact `index`, from a hash: cheap enough to scan a million contacts."""
        override = self._contact_overrides.get(index)
        if override is not None:
            return override.get("updated_at")
        return self._generated_times(index)[1]

    def conversation_count(self, index: int) -> int:
        """How many conversations contact `index` started; positions past the generated contacts hold one
        added conversation each."""
        if index >= self.customers:
            return 1 if index < self.conversation_owner_count else 0
        if self.slot(index) in _CONVERSATION_KINDS:
            return 1
        u = self._unit(_TAG_CONV_COUNT, index)
        for count, threshold in enumerate((0.30, 0.55, 0.75, 0.87, 0.95, 0.98)):
            if u < threshold:
                return count
        return 6

    def _generated_conversation_times(self, index: int, k: int) -> tuple[int, int]:
        contact_created = self._generated_times(index)[0]
        kind = self.slot(index) if k == 0 else None
        bits = _mix64(self._salt ^ (_TAG_CONV_TIMES << 56) ^ (index << 8) ^ k)
        u_created, u_updated = (bits >> 32) / 2.0**32, (bits & 0xFFFFFFFF) / 2.0**32
        if kind in _RECENT_CONVERSATION_KINDS:
            created = max(contact_created, self.anchor_ts - (8 + int(u_created * 20)) * DAY)
        elif kind == "cancel_old":
            created = contact_created + int(u_created * (self.anchor_ts - 60 * DAY - contact_created))
        else:
            created = contact_created + int((self.latest_ts - contact_created) * (1.0 - u_created**2))
        span = min(self.latest_ts - created, 20 * DAY)
        return created, created + int(u_updated * span)

    def conversation_created_at(self, index: int, k: int) -> Any:
        """created_at of a conversation as served (the hash-derived int unless overridden)."""
        override = self._conversation_overrides.get((index, k))
        if override is not None:
            return override.get("created_at")
        return self._generated_conversation_times(index, k)[0]

    def conversation_updated_at(self, index: int, k: int) -> Any:
        """updated_at of a conversation, cheap."""
        override = self._conversation_overrides.get((index, k))
        if override is not None:
            return override.get("updated_at")
        return self._generated_conversation_times(index, k)[1]

    # ---- records -------------------------------------------------------------------------------------
    def contact(self, index: int) -> dict:
        """Contact `index` in Intercom's wire format, overrides applied."""
        override = self._contact_overrides.get(index)
        if override is not None:
            return copy.deepcopy(override)
        if not 0 <= index < self.customers:
            raise IndexError(index)
        return self._generate_contact(index)

    def contacts(self) -> Iterator[dict]:
        """Every contact in index order (generated, then added)."""
        for index in range(self.contact_count):
            yield self.contact(index)

    def conversation_at(self, index: int, k: int, parts: bool = False) -> dict:
        """The k-th conversation of contact `index`; with `conversation_parts` when `parts`."""
        override = self._conversation_overrides.get((index, k))
        conversation = (
            copy.deepcopy(override) if override is not None else self._generate_conversation(index, k)
        )
        if not parts:
            conversation.pop("conversation_parts", None)
        return conversation

    def conversations(self) -> Iterator[dict]:
        """Every conversation (without parts, as searches return them) in contact order."""
        for index in range(self.conversation_owner_count):
            for k in range(self.conversation_count(index)):
                yield self.conversation_at(index, k)

    def conversation(self, conversation_id: str) -> dict | None:
        """One conversation with its parts (as GET /conversations/{id} returns it), or None."""
        position = self.conversation_position(str(conversation_id))
        return None if position is None else self.conversation_at(*position, parts=True)

    # ---- changes -------------------------------------------------------------------------------------
    @staticmethod
    def _next_updated_at(previous: Any) -> int:
        now = int(time.time())
        return max(now, previous + 1) if isinstance(previous, int) else now

    def update_contact(self, contact_id: str, changes: dict) -> dict:
        """Deep-merge `changes` into a contact, bump its updated_at, return the new object."""
        with self._lock:
            index = self.contact_index(contact_id)
            if index is None:
                raise KeyError(contact_id)
            merged = deep_merge(self.contact(index), changes)
            merged["updated_at"] = self._next_updated_at(self.contact_updated_at(index))
            self._contact_overrides[index] = merged
            self.version += 1
            return copy.deepcopy(merged)

    def update_conversation(self, conversation_id: str, changes: dict) -> dict:
        """Deep-merge `changes` into a conversation, bump its updated_at, return it (with parts)."""
        with self._lock:
            position = self.conversation_position(str(conversation_id))
            if position is None:
                raise KeyError(conversation_id)
            merged = deep_merge(self.conversation_at(*position, parts=True), changes)
            merged["updated_at"] = self._next_updated_at(self.conversation_updated_at(*position))
            self._conversation_overrides[position] = merged
            self.version += 1
            return copy.deepcopy(merged)

    def add_contact(self, obj: dict) -> dict:
        """Append a brand-new contact after the generated ones; fills type, id and timestamps if absent."""
        with self._lock:
            index = self.contact_count
            contact = copy.deepcopy(obj)
            now = int(time.time())
            contact.setdefault("type", "contact")
            contact.setdefault("id", f"{self._id_prefix}{index:08x}")
            contact.setdefault("created_at", now)
            contact.setdefault("updated_at", now)
            if contact["id"] in self._added_ids or self.contact_index(contact["id"]) is not None:
                raise ValueError(f"contact {contact['id']} already exists")
            self._added_ids[contact["id"]] = index
            self._contact_overrides[index] = contact
            self.version += 1
            return copy.deepcopy(contact)

    def add_conversation(self, obj: dict) -> dict:
        """Append a brand-new conversation (its `contacts` name who took part); fills timestamps if absent."""
        with self._lock:
            conversation = copy.deepcopy(obj)
            now = int(time.time())
            conversation.setdefault("type", "conversation")
            conversation.setdefault("id", f"added{len(self._added_conversation_ids)}")
            conversation.setdefault("created_at", now)
            conversation.setdefault("updated_at", now)
            if self.conversation_position(str(conversation["id"])) is not None:
                raise ValueError(f"conversation {conversation['id']} already exists")
            index = self.conversation_owner_count
            self._added_conversation_ids[str(conversation["id"])] = index
            self._conversation_overrides[(index, 0)] = conversation
            self.version += 1
            return copy.deepcopy(conversation)

    def person(self, index: int) -> dict:
        """Name, email (as Intercom holds it) and role of person `index`: what other vendors' data reuses."""
        return self._person(index)

    def generated_created_at(self, index: int) -> int:
        """The hash-derived signup time of contact `index` (an int even where the served one is malformed)."""
        return self._generated_times(index)[0]

    # ---- generation ----------------------------------------------------------------------------------
    def _person(self, index: int) -> dict:
        """Name, email and role of a contact, from its own small RNG (conversations reuse it)."""
        kind = self.slot(index)
        if kind == "email_shared_second":
            first = self._person(index - 1)
            local, domain = first["email"].split("@")
            return {**first, "email": f"{local.title()}@{domain.upper()}"}
        rng = random.Random(f"{self.seed}:{index}:person")
        first, last, domain = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(DOMAINS)
        is_lead = kind in ("lead", "lead_conversation") or (kind is None and rng.random() < 0.15)
        if kind in _STRIPE_KINDS or index % SLOT_MODULUS in MEETING_SLOT_RANGE:
            is_lead = False
        email: str | None = f"{first}.{last}{index}@{domain}".lower()
        if kind == "email_messy_case_spaces":
            email = f"  {first}.{last}{index}@{domain.upper()} "
        elif kind == "email_null" or (kind is None and is_lead and rng.random() < 0.2):
            email = None
        elif kind in _INVALID_EMAILS:
            email = _INVALID_EMAILS[kind]
        elif kind is None and rng.random() < 0.03:
            email = f"{first}.{last}{index}@{domain}"
        name = None if is_lead and rng.random() < 0.4 else f"{first} {last}"
        return {"name": name, "email": email, "role": "lead" if is_lead else "user"}

    def _generate_contact(self, index: int) -> dict:
        kind = self.slot(index)
        rng = random.Random(f"{self.seed}:{index}")
        person = self._person(index)
        is_user = person["role"] == "user"
        created, updated = self._generated_times(index)
        never_seen = kind == "never_seen" or (kind is None and rng.random() < (0.07 if is_user else 0.4))
        last_seen: int | None = None if never_seen else max(created, updated - rng.randint(0, 2 * DAY))
        if last_seen is not None and is_user and rng.random() < 0.6:
            # most users of a live product were around in the last days or weeks
            last_seen = max(created, self.latest_ts - int(rng.expovariate(1 / (6 * DAY))))
        if kind == "malformed_last_seen_at":
            last_seen = -1

        def maybe_between(probability: float) -> int | None:
            return rng.randint(created, updated) if rng.random() < probability else None

        location = dict.fromkeys(("country", "region", "city", "country_code", "continent_code"))
        roll = rng.random()
        if kind != "no_location" and (kind is not None or roll >= 0.05):
            country, region, city, country_code, continent = rng.choice(LOCATIONS)
            location = {
                "country": country,
                "region": region,
                "city": city,
                "country_code": country_code,
                "continent_code": continent,
            }
            if kind == "country_without_city" or (kind is None and roll < 0.10):
                location.update(region=None, city=None)
        contact_id = self.contact_id(index)
        custom_attributes: dict[str, Any] = {}
        if self.has_stripe(index):
            custom_attributes = self._stripe_attributes(rng, index)
        return {
            "type": "contact",
            "id": contact_id,
            "workspace_id": self.workspace_id,
            "external_id": f"user_{index:07d}" if is_user else None,
            "role": person["role"],
            "email": person["email"],
            "phone": f"+1 415 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.3 else None,
            "name": person["name"],
            "avatar": None,
            "owner_id": None,
            "social_profiles": {"type": "list", "data": []},
            "has_hard_bounced": rng.random() < 0.02,
            "marked_email_as_spam": rng.random() < 0.01,
            "unsubscribed_from_emails": rng.random() < 0.08,
            "created_at": MALFORMED_TIMESTAMP if kind == "malformed_created_at" else created,
            "updated_at": updated,
            "signed_up_at": created if is_user else None,
            "last_seen_at": last_seen,
            "last_replied_at": maybe_between(0.5),
            "last_contacted_at": maybe_between(0.6),
            "last_email_opened_at": maybe_between(0.4),
            "last_email_clicked_at": maybe_between(0.1),
            "language_override": None,
            "browser": None if never_seen else rng.choice(BROWSERS),
            "browser_version": None if never_seen else f"{rng.randint(100, 130)}.0",
            "browser_language": "en",
            "os": None if never_seen else rng.choice(OSES),
            "location": {"type": "location", **location},
            "android_app_name": None,
            "ios_app_name": None,
            "custom_attributes": custom_attributes,
            "tags": self._empty_list(f"/contacts/{contact_id}/tags"),
            "notes": self._empty_list(f"/contacts/{contact_id}/notes"),
            "companies": self._empty_list(f"/contacts/{contact_id}/companies"),
        }

    @staticmethod
    def _empty_list(url: str) -> dict:
        return {"type": "list", "data": [], "url": url, "total_count": 0, "has_more": False}

    def billing(self, index: int) -> list[dict]:
        """The Stripe customers (subscription facts, see billing.py) of contact `index`; [] without Stripe."""
        if not 0 <= index < self.customers or not self.has_stripe(index):
            return []
        kind = self.slot(index)
        rng = random.Random(f"{self.seed}:{index}:billing")
        stripe_kind = kind if kind in _STRIPE_KINDS else None  # other slots get random Stripe data
        customers = billing.generate(rng, stripe_kind, self._generated_times(index)[0], self.latest_ts)
        for change in self._billing_changes.get(index, []):
            sub = next(s for c in customers for s in c["subscriptions"] if s["id"] == change["subscription"])
            last = sub["phases"][-1]
            sub["phases"].append(
                {
                    "at": change["at"],
                    "tier": change["tier"] or last["tier"],
                    "quantity": change["quantity"] or last["quantity"],
                }
            )
        return customers

    @property
    def billing_now(self) -> int:
        """The sandbox's billing clock: the end of generated history, a minute later per change made."""
        return self.latest_ts + 60 * sum(len(changes) for changes in self._billing_changes.values())

    def change_subscription(
        self, index: int, subscription_id: str, quantity: int | None = None, tier: str | None = None
    ) -> None:
        """Change a subscription's quantity and/or tier now (on the billing clock), as a customer would."""
        with self._lock:
            subs = {s["id"] for c in self.billing(index) for s in c["subscriptions"]}
            if subscription_id not in subs:
                raise KeyError(subscription_id)
            if tier is not None and tier not in billing.TIER_RANK:
                raise ValueError(f"unknown tier {tier}")
            at = self.billing_now + 60
            change = {"subscription": subscription_id, "quantity": quantity, "tier": tier, "at": at}
            self._billing_changes.setdefault(index, []).append(change)
            self.version += 1
            self.billing_version += 1

    def has_stripe(self, index: int) -> bool:
        """Whether generated contact `index` is a Stripe customer (cheap: no record is built)."""
        kind = self.slot(index)
        if kind in _STRIPE_KINDS:
            return True
        return self._person(index)["role"] == "user" and self._unit(_TAG_STRIPE, index) < 0.85

    def _stripe_attributes(self, rng: random.Random, index: int) -> dict:
        """Intercom's Stripe app attributes: flat stripe_* fields plus the two arrays, from the history."""
        kind = self.slot(index)
        customer = self.billing(index)[0]
        subscriptions, payments = billing.intercom_attributes(customer, self.billing_now)
        primary = subscriptions[0] if subscriptions else None
        last_charge = next((p for p in payments if p["status"] == "succeeded"), None)
        attributes: dict[str, Any] = {
            "stripe_id": customer["id"],
            "stripe_plan": primary["plan"]["nickname"] if primary else None,
            "stripe_plan_price": primary["plan"]["amount"] if primary else None,
            "stripe_subscription_status": primary["status"] if primary else None,
            "stripe_delinquent": customer["delinquent"],
            "stripe_last_charge_amount": last_charge["amount"] if last_charge else None,
            "stripe_last_charge_at": last_charge["created"] if last_charge else None,
            "Stripe Subscriptions": subscriptions,
            "Stripe Payments": payments,
        }
        if kind == "status_attribute_absent" or (kind is None and rng.random() < 0.08):
            del attributes["stripe_subscription_status"]
        if kind == "delinquent_attribute_absent" or (kind is None and rng.random() < 0.08):
            del attributes["stripe_delinquent"]
        return attributes

    def _author(self, index: int, person: dict) -> dict:
        return {
            "type": person["role"],
            "id": self.contact_id(index),
            "name": person["name"],
            "email": person["email"],
        }

    def _conversation_text(self, rng: random.Random, kind: str | None) -> tuple[str | None, str]:
        """(title, source body HTML) of a conversation."""
        title = rng.choice(SUBJECTS)
        body = rng.choice(CANCEL_BODIES) if rng.random() < 0.04 else rng.choice(BODIES)
        if kind in ("cancel_near_miss", "cancel_admin_part", "cancel_user_part", "lead_conversation"):
            body = rng.choice(BODIES)
        special = {
            "cancel_html": "<p>I want to <b>cancel</b> my plan</p>",
            "cancel_wont_renew_entity": "<p>Heads up: we won&#39;t renew when the contract ends.</p>",
            "cancel_wont_renew_plain": "<p>We won't renew in March.</p>",
            "cancel_in_title": "<p>Please see the subject.</p>",
            "cancel_switching": "<p>We are <i>switching to a competitor</i> next quarter.</p>",
            "cancel_near_miss": (
                "<p>Our old vendor churned us, their tool was cancelled, my manager leaves in "
                "May and we switched teams.</p>"
            ),
            "cancel_old": "<p>Please cancel our account.</p>",
        }
        if kind in special:
            body = special[kind]
        if kind == "cancel_in_title":
            title = "Cancellation of our account"
        elif kind in special or kind in ("cancel_admin_part", "cancel_user_part"):
            title = None
        return title, body

    def _generate_conversation(self, index: int, k: int) -> dict:
        kind = self.slot(index) if k == 0 else None
        rng = random.Random(f"{self.seed}:{index}:conversation:{k}")
        person = self._person(index)
        created, updated = self._generated_conversation_times(index, k)
        conversation_id = self.conversation_id(index, k)
        state = _weighted(rng, (("closed", 65), ("open", 25), ("snoozed", 10)))
        if kind and kind.split("_")[0] in ("open", "closed", "snoozed"):
            state = kind.split("_")[0]
        rated = rng.random() < (0.45 if state == "closed" else 0.15)
        if kind and kind.endswith("_rated"):
            rated = True
        elif kind and kind.endswith("_unrated"):
            rated = False
        priority = "priority" if kind == "open_priority" or rng.random() < 0.12 else "not_priority"
        teammate = rng.choice(TEAMMATES)
        title, body = self._conversation_text(rng, kind)
        contacts = [
            {
                "type": "contact",
                "id": self.contact_id(index),
                "external_id": f"user_{index:07d}" if person["role"] == "user" else None,
            }
        ]
        if kind == "conversation_two_contacts" and index + 1 < self.customers:
            other_role = self._person(index + 1)["role"]
            contacts.append(
                {
                    "type": "contact",
                    "id": self.contact_id(index + 1),
                    "external_id": f"user_{index + 1:07d}" if other_role == "user" else None,
                }
            )
        rating = None
        if rated:
            rating = {
                "rating": rng.randint(1, 5),
                "remark": rng.choice(REMARKS),
                "created_at": rng.randint(created, updated),
                "contact": {"type": "contact", "id": self.contact_id(index)},
                "teammate": {"type": "admin", "id": teammate[0]},
            }
        author = self._author(index, person)
        return {
            "type": "conversation",
            "id": conversation_id,
            "title": title,
            "created_at": MALFORMED_TIMESTAMP if kind == "malformed_conversation_created_at" else created,
            "updated_at": updated,
            "waiting_since": updated if state == "open" else None,
            "snoozed_until": self.anchor_ts + rng.randint(1, 7) * DAY if state == "snoozed" else None,
            "open": state != "closed",
            "state": state,
            "read": rng.random() < 0.8,
            "priority": priority,
            "admin_assignee_id": int(teammate[0]) if rng.random() < 0.85 else None,
            "team_assignee_id": rng.choice(TEAM_IDS) if rng.random() < 0.5 else None,
            "tags": {"type": "tag.list", "tags": []},
            "conversation_rating": rating,
            "source": {
                "type": "conversation",
                "id": str(int(conversation_id) * 10),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": body,
                "author": author,
                "attachments": [],
                "url": None,
                "redacted": False,
            },
            "contacts": {"type": "contact.list", "contacts": contacts},
            "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": teammate[0]}]},
            "custom_attributes": {},
            "first_contact_reply": {"created_at": created, "type": "conversation", "url": None},
            "sla_applied": None,
            "statistics": None,
            "conversation_parts": self._parts(rng, kind, conversation_id, author, teammate, created, updated),
        }

    def _parts(
        self,
        rng: random.Random,
        kind: str | None,
        conversation_id: str,
        author: dict,
        teammate: tuple[str, str, str],
        created: int,
        updated: int,
    ) -> dict:
        """The conversation_part.list: teammate (or bot) and customer replies, alternating."""
        admin = {"type": "admin", "id": teammate[0], "name": teammate[1], "email": teammate[2]}
        bot = {"type": "bot", "id": BOT[0], "name": BOT[1], "email": BOT[2]}
        bodies: list[tuple[dict, str]] = []
        if rng.random() < 0.3:
            bodies.append((bot, "<p>Thanks! A teammate will get back to you shortly.</p>"))
        for n in range(rng.randint(1, 4)):
            if n % 2 == 0:
                bodies.append((admin, rng.choice(ADMIN_REPLIES)))
            else:
                bodies.append((author, rng.choice(USER_REPLIES)))
        if kind == "cancel_admin_part":
            bodies.append((admin, "<p>If you ever want to cancel, you can do it from the billing page.</p>"))
        elif kind == "cancel_user_part":
            bodies.append((author, "<p>Honestly we are thinking about cancelling.</p>"))
        step = max(1, (updated - created) // (len(bodies) + 1))
        parts = []
        for n, (part_author, body) in enumerate(bodies):
            at = min(updated, created + (n + 1) * step)
            parts.append(
                {
                    "type": "conversation_part",
                    "id": f"{conversation_id}{n:03d}",
                    "part_type": "comment",
                    "body": body,
                    "created_at": at,
                    "updated_at": at,
                    "notified_at": at,
                    "assigned_to": None,
                    "author": dict(part_author),
                    "attachments": [],
                    "external_id": None,
                    "redacted": False,
                }
            )
        return {"type": "conversation_part.list", "conversation_parts": parts, "total_count": len(parts)}
