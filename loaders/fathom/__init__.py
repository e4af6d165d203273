"""Fathom source: recorded meetings with their invitees, summary and action items (transcripts opt-in).

Fathom's `GET /external/v1/meetings` lists newest first with an opaque cursor and filters on
`created_after`; summaries, action items and transcripts come only when asked for. Each sync asks for the
meetings created after the newest one it saw (less an overlap), or the last `recheck_days` when that is
earlier, with summaries and action items, and merges on `recording_id`: the requests are the pages of
what is new plus the recheck window. Fathom allows 60 requests a minute; a 429 waits for `Retry-After`.
Malformed meetings go to ``quarantine``. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from loaders.common import RetryingSession, pages_of, quarantined, quarantining, split_page
from loaders.fathom.helpers import created_after, iso, typed_meeting
from loaders.fathom.settings import (
    DEFAULT_BASE_URL,
    INITIAL_DAYS,
    MEETING_COLUMNS,
    MEETING_NESTED_HINTS,
    MEETINGS_PATH,
    RECHECK_DAYS,
    TRANSCRIPTS,
)

SOURCE = "fathom"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for Fathom's External API: `X-Api-Key`, `next_cursor` paging, polite retries."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Accept": "application/json"},
        auth=APIKeyAuth(name="X-Api-Key", api_key=access_token, location="header"),
        paginator=JSONResponseCursorPaginator(cursor_path="next_cursor", cursor_param="cursor"),
        session=session or RetryingSession(),
    )


@dlt.source(name=SOURCE, max_table_nesting=2)
def fathom_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    transcripts: bool = TRANSCRIPTS,
    initial_days: int = INITIAL_DAYS,
    recheck_days: int = RECHECK_DAYS,
    session: RetryingSession | None = None,
) -> Any:
    """Fathom meetings visible to the key's user (an admin with view access sees every shared call).

    Args:
        access_token: a Fathom API key (``SOURCES__FATHOM__ACCESS_TOKEN``; User Settings > API Access).
        base_url: API base URL (``SOURCES__FATHOM__BASE_URL``), e.g. a proxy or the sandbox.
        transcripts: also load transcripts (``SOURCES__FATHOM__TRANSCRIPTS``; large, off by default).
        initial_days: the first sync loads meetings created this many days ago or later.
        recheck_days: every sync re-reads the meetings of the last this many days (action items change).
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)

    @dlt.resource(
        name="meetings",
        primary_key="recording_id",
        write_disposition="merge",
        columns=MEETING_COLUMNS,
        nested_hints=MEETING_NESTED_HINTS,
    )
    def meetings() -> Iterator[Any]:
        state = dlt.current.resource_state()
        now = datetime.now(timezone.utc)
        params = {
            "created_after": iso(created_after(state.get("created_at"), now, initial_days, recheck_days)),
            "include_summary": "true",
            "include_action_items": "true",
        }
        if transcripts:
            params["include_transcript"] = "true"
        newest = state.get("created_at")
        for page in pages_of(client, MEETINGS_PATH, "items", params=params):
            good, bad = split_page(SOURCE, "meetings", page, typed_meeting)
            for meeting in good:
                if not transcripts:
                    meeting.pop("transcript", None)
                stamp = iso(meeting["created_at"])
                newest = stamp if newest is None else max(newest, stamp)
            if good:
                yield good
            yield from quarantined(bad)
        state["created_at"] = newest

    return quarantining(meetings)
