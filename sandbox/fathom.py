"""Fathom External API routes over the company's customer calls, served under `/fathom`.

Implements `GET /external/v1/meetings` as Fathom does: `X-Api-Key` auth, newest first, an opaque `cursor`
(`next_cursor` in the answer, null on the last page), `created_after` / `created_before` (ISO 8601), and the
opt-in `include_summary`, `include_action_items`, `include_transcript` (without them those fields are
null). 60 requests a minute per key; beyond it a 429 with `Retry-After`. Meetings are the AMs' calls with
customers: invitees with `email` and `is_external`, `recorded_by` the AM, a markdown summary and action
items with their assignee's email and `completed`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import json
import random
import time
from functools import cached_property

from sandbox.api import RateWindow, Request, Response
from sandbox.company import DAY, MEETING_SLOT_RANGE
from sandbox.crm import CRM, OWNERS, clean_email, parse_time

PAGE_SIZE = 10  # Fathom answers a fixed page size
HISTORY_DAYS = 180
MEETINGS = ((0, 45), (1, 25), (2, 15), (3, 10), (5, 5))
CANCEL_SHARE = 0.05
MALFORMED_TIME = "2024-13-45T10:00:00Z"
# person index % 100 -> meeting mess, in company.MEETING_SLOT_RANGE: outside Intercom's 1..52, the CRM's
# 53..69 and the Stripe revenue cases' 70..91, so each slot holds one kind of mess
MEETING_SLOTS = dict(
    zip(
        MEETING_SLOT_RANGE,
        (
            "cancel_in_summary",  # a meeting 10 days ago whose summary says they will cancel
            "cancel_in_transcript",  # a meeting 12 days ago: "not renewing" only in the transcript
            "cancel_old",  # the cancel summary is 100 days old: outside the window
            "malformed_created_at",  # the newest meeting's created_at is not a time
            "after_as_of",  # the newest meeting starts the day after the anchor
        ),
        strict=True,
    )
)
SUMMARIES = (
    "### Key takeaways\n- Reviewed the onboarding of the new team members.\n- Asked about the export API.",
    "### Key takeaways\n- Walked through the credit usage dashboard.\n- Wants more seats next quarter.",
    "### Key takeaways\n- Discussed data quality of enriched lists.\n- Wants a follow-up on integrations.",
    "### Key takeaways\n- Quarterly review: usage is steady, team is happy with support.",
)
CANCEL_SUMMARY = (
    "### Key takeaways\n- The customer said they plan to cancel at the end of the term (budget cuts)."
)
ACTIONS = (
    "Send the export API documentation",
    "Share pricing for additional seats",
    "Schedule a training for the new team",
    "Follow up on the integration request",
    "Review credit usage with finance",
)


def iso(seconds: float) -> str:
    """Fathom's timestamp format: `2026-01-02T03:04:05Z`."""
    return f"{datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": message}, headers=dict(headers or {}))


class FathomAPI:
    """The Fathom vendor: API routes, control routes and fault answers."""

    name = "fathom"
    stats_keys = ("fathom_meetings_returned",)

    def __init__(self, crm: CRM, token: str, rate_limit: int = 60, rate_window: float = 60.0) -> None:
        self.crm = crm
        self.token = token
        self.rate = RateWindow(rate_limit, rate_window)
        self.added: list[dict] = []

    # ---- data ----------------------------------------------------------------------------------------
    def slot(self, p: int) -> str | None:
        return MEETING_SLOTS.get(p % 100)

    def _meetings_of(self, p: int) -> list[dict]:
        crm = self.crm
        person = crm.person(p)
        email = person["email"]
        owner = crm.contact_owner(p)
        if email is None or owner is None:
            return []
        kind = self.slot(p)
        rng = random.Random(f"{crm.seed}:{p}:fathom")
        count = rng.choices([n for n, _ in MEETINGS], weights=[w for _, w in MEETINGS])[0]
        if kind:
            count = max(count, 1)
        anchor = crm.anchor_ts
        starts = sorted(
            anchor - rng.randint(1, HISTORY_DAYS) * DAY + rng.randint(8, 17) * 3600 for _ in range(count)
        )
        if kind in ("cancel_in_summary", "cancel_in_transcript", "cancel_old"):
            days = {"cancel_in_summary": 10, "cancel_in_transcript": 12, "cancel_old": 100}[kind]
            starts[-1] = anchor - days * DAY + 14 * 3600
        if kind == "after_as_of":
            starts[-1] = anchor + DAY + 10 * 3600
        host_email = crm.owner_email(owner)
        host_name = f"{OWNERS[owner][2]} {OWNERS[owner][3]}"
        meetings = []
        for k, start in enumerate(starts):
            newest = k == len(starts) - 1
            duration = rng.choice((15, 25, 30, 45, 60)) * 60
            recording_id = 100_000_000 + p * 16 + k
            cancel = (newest and kind in ("cancel_in_summary", "cancel_old")) or (
                kind is None and rng.random() < CANCEL_SHARE
            )
            summary = CANCEL_SUMMARY if cancel else rng.choice(SUMMARIES)
            typed = email if rng.random() > 0.05 else email.upper()
            actions = []
            for a in range(rng.choice((0, 1, 2, 3))):
                mine = rng.random() < 0.6
                actions.append(
                    {
                        "description": rng.choice(ACTIONS),
                        "user_generated": False,
                        "completed": rng.random() < (0.3 if newest else 0.8),
                        "recording_timestamp": f"00:{5 + 3 * a:02d}:{rng.randint(0, 59):02d}",
                        "recording_playback_url": f"https://fathom.video/calls/{recording_id}?t={300 + a}",
                        "assignee": {
                            "name": host_name if mine else person["name"],
                            "email": host_email if mine else email,
                            "team": "Account Management" if mine else None,
                        },
                    }
                )
            transcript_line = (
                "Honestly, we are not renewing next year."
                if newest and kind == "cancel_in_transcript"
                else "Thanks for walking us through the dashboard."
            )
            created = start + duration + rng.randint(60, 900)
            meetings.append(
                {
                    "title": f"{person['name']} / ListKit check-in",
                    "meeting_title": f"{person['name']} / ListKit check-in",
                    "recording_id": recording_id,
                    "url": f"https://fathom.video/calls/{recording_id}",
                    "share_url": f"https://fathom.video/share/{hashlib.sha1(str(recording_id).encode()).hexdigest()[:20]}",
                    "created_at": MALFORMED_TIME
                    if newest and kind == "malformed_created_at"
                    else iso(created),
                    "scheduled_start_time": iso(start),
                    "scheduled_end_time": iso(start + duration),
                    "recording_start_time": iso(start + 30),
                    "recording_end_time": iso(start + duration),
                    "calendar_invitees_domains_type": "one_or_more_external",
                    "transcript_language": "en",
                    "calendar_invitees": [
                        {
                            "name": host_name,
                            "email": host_email,
                            "email_domain": host_email.split("@")[1],
                            "is_external": False,
                            "matched_speaker_display_name": host_name,
                        },
                        {
                            "name": person["name"],
                            "email": typed,
                            "email_domain": email.split("@")[1],
                            "is_external": True,
                            "matched_speaker_display_name": person["name"],
                        },
                    ],
                    "recorded_by": {
                        "name": host_name,
                        "email": host_email,
                        "email_domain": host_email.split("@")[1],
                        "team": "Account Management",
                    },
                    "_summary": summary,
                    "_actions": actions,
                    "_transcript": [
                        {
                            "speaker": {
                                "display_name": host_name,
                                "matched_calendar_invitee_email": host_email,
                            },
                            "text": "How is the team getting on with the product?",
                            "timestamp": "00:00:05",
                        },
                        {
                            "speaker": {
                                "display_name": person["name"],
                                "matched_calendar_invitee_email": email,
                            },
                            "text": transcript_line,
                            "timestamp": "00:00:12",
                        },
                    ],
                    "_sort": created,
                }
            )
        return meetings

    @cached_property
    def meetings(self) -> list[dict]:
        """Every generated meeting, newest first (by created_at)."""
        rows = [m for p in range(self.crm.customers) for m in self._meetings_of(p)]
        return sorted(rows, key=lambda m: (-m["_sort"], m["recording_id"]))

    def all_meetings(self) -> list[dict]:
        """Generated and added meetings, newest first."""
        return sorted(self.meetings + self.added, key=lambda m: (-m["_sort"], m["recording_id"]))

    # ---- API -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer `/fathom<path>`: rate limit, auth, then the route."""
        allowed, remaining, reset = self.rate.take()
        headers = {
            "RateLimit-Limit": str(self.rate.limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(0, reset - int(time.time()))),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, reset - int(time.time())))
            return _error(429, "Rate limit exceeded", headers)
        if request.headers.get("X-Api-Key") != self.token:
            return _error(401, "Unauthorized", headers)
        if request.method != "GET" or request.path.rstrip("/") != "/external/v1/meetings":
            return _error(404, "Not found", headers)
        response = self._meetings(request)
        response.headers.update(headers)
        return response

    def _meetings(self, request: Request) -> Response:
        query = {name: values[-1] for name, values in request.query.items()}
        rows = self.all_meetings()
        for name, keep in (
            ("created_after", lambda at, bound: at >= bound),
            ("created_before", lambda at, bound: at < bound),
        ):
            if query.get(name):
                bound = parse_time(query[name])
                if bound is None or query[name].strip().isdigit():
                    return _error(400, f"{name} must be an ISO 8601 timestamp")
                rows = [m for m in rows if keep(m["_sort"], bound)]
        offset = 0
        if query.get("cursor"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(query["cursor"] + "==="))["offset"])
            except (binascii.Error, ValueError, KeyError, TypeError):
                return _error(400, "Invalid cursor")
        flags = {
            name: query.get(f"include_{name}", "false").lower() == "true"
            for name in ("summary", "action_items", "transcript")
        }
        page = [self._render(m, flags) for m in rows[offset : offset + PAGE_SIZE]]
        more = offset + PAGE_SIZE < len(rows)
        cursor = (
            base64.urlsafe_b64encode(json.dumps({"offset": offset + PAGE_SIZE}).encode()).decode().rstrip("=")
        )
        return Response(
            200,
            {"limit": PAGE_SIZE, "next_cursor": cursor if more else None, "items": page},
            records={"fathom_meetings_returned": len(page)},
        )

    @staticmethod
    def _render(meeting: dict, flags: dict[str, bool]) -> dict:
        body = {k: v for k, v in meeting.items() if not k.startswith("_")}
        body["default_summary"] = (
            {"template_name": "general", "markdown_formatted": meeting["_summary"]}
            if flags["summary"]
            else None
        )
        body["action_items"] = meeting["_actions"] if flags["action_items"] else None
        body["transcript"] = meeting["_transcript"] if flags["transcript"] else None
        body["crm_matches"] = None
        return body

    # ---- control and faults --------------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        """`POST /_sandbox/fathom/meetings` ({"email", "name", "summary", "start_time", "host": owner index}):
        a meeting recorded now."""
        body = request.json() if request.body else {}
        if request.method != "POST" or request.path.rstrip("/") != "/meetings" or not isinstance(body, dict):
            return Response(404, {"error": f"no control route {request.path}"})
        email = clean_email(body.get("email"))
        start = parse_time(body.get("start_time"))
        if email is None or start is None:
            return Response(400, {"error": "a meeting needs an email and an ISO start_time"})
        owner = int(body.get("host", 0))
        host_email = self.crm.owner_email(owner)
        now = time.time()
        recording_id = 900_000_000 + len(self.added)
        meeting = {
            "title": body.get("name") or email,
            "meeting_title": body.get("name") or email,
            "recording_id": recording_id,
            "url": f"https://fathom.video/calls/{recording_id}",
            "share_url": f"https://fathom.video/share/{recording_id}",
            "created_at": iso(now),
            "scheduled_start_time": iso(start),
            "scheduled_end_time": iso(start + 1800),
            "recording_start_time": iso(start),
            "recording_end_time": iso(start + 1800),
            "calendar_invitees_domains_type": "one_or_more_external",
            "transcript_language": "en",
            "calendar_invitees": [
                {
                    "name": "AM",
                    "email": host_email,
                    "email_domain": host_email.split("@")[1],
                    "is_external": False,
                    "matched_speaker_display_name": None,
                },
                {
                    "name": body.get("name"),
                    "email": email,
                    "email_domain": email.split("@")[1],
                    "is_external": True,
                    "matched_speaker_display_name": None,
                },
            ],
            "recorded_by": {
                "name": "AM",
                "email": host_email,
                "email_domain": host_email.split("@")[1],
                "team": None,
            },
            "_summary": body.get("summary") or SUMMARIES[0],
            "_actions": [],
            "_transcript": [],
            "_sort": now,
        }
        self.added.append(meeting)
        return Response(
            200, self._render(meeting, {"summary": True, "action_items": True, "transcript": False})
        )

    def fault(self, status: int, retry_after: int) -> Response:
        """Fathom's answer for an injected error status."""
        if status == 429:
            return _error(
                429, "Rate limit exceeded", {"Retry-After": str(retry_after), "RateLimit-Remaining": "0"}
            )
        return _error(status, "Internal server error")
