"""The "Product usage" metrics of docs/metrics.md computed in plain Python from the sandbox's generated
product database rows, Userflow lists and Fathom meetings, independently of the loaders and the models.

Point in time: T is 00:00 UTC of the as-of date; a fact counts when it happened before the end of T's day;
"in the N days before T" is [T - N days, end of T's day).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from expected import CANCEL_RE, EMAIL_RE, half_up

USAGE_TREND_MIN_VOLUME = 50
USAGE_DECLINE_TREND = Decimal("-0.20")
STALL_DAYS = 14
SEAT_EXPANSION = Decimal("0.9")
CREDITS_LOW_DAYS = 14


@dataclass
class Product:
    """The expected product columns of one customer (email_key)."""

    logins_7d: int | None = None
    logins_30d: int | None = None
    active_days_30d: int | None = None
    last_login_at: datetime | None = None
    usage_30d: int | None = None
    usage_prev_30d: int | None = None
    usage_trend: Decimal | None = None
    credits_balance: int | None = None
    credits_used_30d: int | None = None
    credits_days_left: Decimal | None = None
    exports_30d: int | None = None
    seats_purchased: int | None = None
    seats_used: int | None = None
    seat_utilization: Decimal | None = None
    userflow_last_seen_at: datetime | None = None
    userflow_signed_up_at: datetime | None = None
    onboarding_progress: Decimal | None = None
    onboarding_completed_at: datetime | None = None
    is_onboarding_stalled: bool = False
    meetings_90d: int | None = None
    last_meeting_at: datetime | None = None
    open_action_items: int | None = None
    mentioned_cancel_in_meeting: bool = False


def _key(email: Any) -> str | None:
    if not isinstance(email, str):
        return None
    key = email.strip().lower()
    return key if EMAIL_RE.match(key) else None


def _parse(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def expected_product(
    tables: Mapping[str, Iterable[Mapping[str, Any]]],
    as_of: date,
    userflow: Mapping[str, list[dict]] | None = None,
    meetings: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Product]:
    """Expected product columns per email_key. `tables`: canonical table -> rows (ProductDB.rows or the
    database's current rows); `userflow`: the sandbox's Userflow lists; `meetings`: Fathom's meetings."""
    start = datetime(as_of.year, as_of.month, as_of.day)
    end = start + timedelta(days=1)

    def within(at: datetime | None, days: int, until: int = -1) -> bool:
        return at is not None and start - timedelta(days=days) <= at < start - timedelta(days=until)

    rows = {name: list(values) for name, values in tables.items()}
    users = [u for u in rows["users"] if _key(u["email"]) and u["created_at"] < end]
    by_key: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for user in users:
        by_key[_key(user["email"])].append(user)
    key_of_user = {u["user_id"]: _key(u["email"]) for u in users}
    result: dict[str, Product] = {}
    for key, people in by_key.items():
        primary = max(people, key=lambda u: (u["updated_at"], u["user_id"]))
        result[key] = Product(logins_7d=0, logins_30d=0, active_days_30d=0, usage_30d=0, usage_prev_30d=0)
        result[key].primary_account = primary["account_id"]  # type: ignore[attr-defined]
    days: dict[str, set[date]] = defaultdict(set)
    for login in rows["logins"]:
        key = key_of_user.get(login["user_id"])
        at = login["logged_in_at"]
        if key is None or at >= end:
            continue
        row = result[key]
        row.logins_7d += within(at, 7)
        row.logins_30d += within(at, 30)
        if within(at, 30):
            days[key].add(at.date())
        row.last_login_at = at if row.last_login_at is None else max(row.last_login_at, at)
    for key, active in days.items():
        result[key].active_days_30d = len(active)
    account_balance: dict[int, int] = defaultdict(int)
    account_used: dict[int, int] = defaultdict(int)
    for row in rows["credit_transactions"]:
        at = row["occurred_at"]
        if at >= end:
            continue
        account_balance[row["account_id"]] += row["credits"]
        if row["credits"] < 0:
            account_used[row["account_id"]] += -row["credits"] if within(at, 30) else 0
            key = key_of_user.get(row["user_id"])
            if key is not None:
                result[key].usage_30d += -row["credits"] if within(at, 30) else 0
                result[key].usage_prev_30d += -row["credits"] if within(at, 60, 30) else 0
    exports: dict[int, int] = defaultdict(int)
    for row in rows["exports"]:
        exports[row["account_id"]] += within(row["exported_at"], 30)
    seats = {row["account_id"]: row["seats_purchased"] for row in rows["seats"]}
    used: dict[int, int] = defaultdict(int)
    for user in rows["users"]:
        if user["created_at"] < end and (user["deactivated_at"] is None or user["deactivated_at"] >= end):
            used[user["account_id"]] += 1
    accounts = {row["account_id"] for row in rows["accounts"] if row["created_at"] < end}
    for row in result.values():
        account = row.primary_account  # type: ignore[attr-defined]
        if row.usage_prev_30d >= USAGE_TREND_MIN_VOLUME and row.usage_prev_30d > 0:
            row.usage_trend = half_up(
                Decimal(row.usage_30d - row.usage_prev_30d) / Decimal(row.usage_prev_30d), "0.0001"
            )
        if account not in accounts:
            continue
        row.credits_balance = account_balance.get(account)
        row.credits_used_30d = account_used[account]
        row.exports_30d = exports[account]
        row.seats_purchased = seats.get(account)
        row.seats_used = used[account]
        if row.seats_purchased:
            row.seat_utilization = half_up(Decimal(row.seats_used) / row.seats_purchased, "0.0001")
        if row.credits_used_30d:
            row.credits_days_left = half_up(
                Decimal(max(row.credits_balance or 0, 0)) * 30 / row.credits_used_30d, "0.1"
            )
    _userflow(result, userflow or {}, start, end)
    _meetings(result, meetings, start, end)
    return result


def _userflow(
    result: dict[str, Product], lists: Mapping[str, list[dict]], start: datetime, end: datetime
) -> None:
    user_keys = {}
    for user in lists.get("users", []):
        key = _key(user["attributes"].get("email"))
        if key is None:
            continue
        user_keys[user["id"]] = key
        row = result.setdefault(key, Product())
        signed = _parse(user["attributes"].get("signed_up_at")) or _parse(user["created_at"])
        row.userflow_signed_up_at = (
            signed if row.userflow_signed_up_at is None else min(signed, row.userflow_signed_up_at)
        )
        seen = _parse(user["attributes"].get("last_seen_at"))
        if seen is not None and seen < end:
            row.userflow_last_seen_at = (
                seen if row.userflow_last_seen_at is None else max(seen, row.userflow_last_seen_at)
            )
    for session in lists.get("content_sessions", []):
        key = user_keys.get(session["user_id"])
        if key is None or _parse(session["created_at"]) >= end or not _is_checklist(session, lists):
            continue
        row = result[key]
        progress = Decimal(session["progress"])
        row.onboarding_progress = (
            progress if row.onboarding_progress is None else max(progress, row.onboarding_progress)
        )
        done = _parse(session["completed_at"])
        if done is not None and done < end:
            row.onboarding_completed_at = (
                done if row.onboarding_completed_at is None else min(done, row.onboarding_completed_at)
            )
    for row in result.values():
        row.is_onboarding_stalled = (
            row.onboarding_progress is not None
            and row.onboarding_completed_at is None
            and row.userflow_signed_up_at is not None
            and row.userflow_signed_up_at < start - timedelta(days=STALL_DAYS)
        )


def _is_checklist(session: Mapping[str, Any], lists: Mapping[str, list[dict]]) -> bool:
    content = {c["id"]: c for c in lists.get("content", [])}.get(session["content_id"], {})
    return content.get("type") == "checklist" and content.get("name") == "Getting started"


def _meetings(
    result: dict[str, Product], meetings: Iterable[Mapping[str, Any]], start: datetime, end: datetime
) -> None:
    latest: dict[str, tuple[datetime, int, Mapping[str, Any]]] = {}
    for meeting in meetings:
        try:
            _parse(meeting["created_at"])
        except ValueError:
            continue  # quarantined by the loader
        started = _parse(meeting["recording_start_time"])
        if started is None or started >= end:
            continue
        keys = {_key(i["email"]) for i in meeting["calendar_invitees"] if i["is_external"]} - {None}
        text = meeting["_summary"]
        for key in keys:
            row = result.setdefault(key, Product())
            row.meetings_90d = (row.meetings_90d or 0) + (start - timedelta(days=90) <= started)
            row.last_meeting_at = (
                started if row.last_meeting_at is None else max(row.last_meeting_at, started)
            )
            if start - timedelta(days=30) <= started and CANCEL_RE.search(text):
                row.mentioned_cancel_in_meeting = True
            if key not in latest or (started, meeting["recording_id"]) > latest[key][:2]:
                latest[key] = (started, meeting["recording_id"], meeting)
    for key, (_, _, meeting) in latest.items():
        result[key].open_action_items = sum(1 for a in meeting["_actions"] if not a["completed"])


def usage_declines(product: Mapping[str, Product]) -> set[str]:
    return {
        k for k, p in product.items() if p.usage_trend is not None and p.usage_trend <= USAGE_DECLINE_TREND
    }


def onboarding_stalls(product: Mapping[str, Product]) -> set[str]:
    return {k for k, p in product.items() if p.is_onboarding_stalled}


def opportunities(product: Mapping[str, Product]) -> set[tuple[str, str]]:
    found = set()
    for key, row in product.items():
        if row.seat_utilization is not None and row.seat_utilization >= SEAT_EXPANSION:
            found.add((key, "seat_expansion"))
        if row.credits_days_left is not None and row.credits_days_left < CREDITS_LOW_DAYS:
            found.add((key, "credits_running_low"))
    return found
