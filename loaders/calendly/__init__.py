"""Calendly source: the organization's scheduled events (with their hosts) and their invitees.

Calendly lists events by start time only (no "updated since" filter), and invitees cost one request per
event. So each sync lists the events that can still change (every future event, and those that ended in
the no-show window before the previous sync) 100 at a time, and loads again, with their invitees, only the
events that are new or changed since the previous sync plus the calls that ended inside the no-show
window. Both tables merge on ``uri``. Malformed records go to ``quarantine``. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from loaders.calendly.helpers import (
    event_uuid,
    iso,
    needs_invitees,
    sync_plan,
    typed_event,
    typed_invitee,
)
from loaders.calendly.settings import (
    CONCURRENCY,
    DEFAULT_BASE_URL,
    EVENT_COLUMNS,
    EVENT_NESTED_HINTS,
    EVENTS_PATH,
    INITIAL_DAYS,
    INVITEE_COLUMNS,
    INVITEES_PATH,
    ME_PATH,
    NO_SHOW_WINDOW_DAYS,
    PAGE_SIZE,
)
from loaders.common import RetryingSession, pages_of, quarantine_row, quarantined, quarantining, selector

SOURCE = "calendly"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for Calendly's API v2 with bearer auth, retries and page-token pagination."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Accept": "application/json"},
        auth=BearerTokenAuth(access_token),
        paginator=JSONResponseCursorPaginator(
            cursor_path="pagination.next_page_token", cursor_param="page_token"
        ),
        session=session or RetryingSession(),
    )


@dlt.source(name=SOURCE, max_table_nesting=2)
def calendly_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    organization: str | None = None,
    page_size: int = PAGE_SIZE,
    initial_days: int = INITIAL_DAYS,
    no_show_window_days: int = NO_SHOW_WINDOW_DAYS,
    concurrency: int = CONCURRENCY,
    session: RetryingSession | None = None,
) -> Any:
    """Calendly scheduled events and invitees of one organization.

    Args:
        access_token: personal access token of an organization owner or admin
            (``SOURCES__CALENDLY__ACCESS_TOKEN``).
        base_url: API base URL (``SOURCES__CALENDLY__BASE_URL``), e.g. a proxy or the sandbox.
        organization: organization URI; by default the token user's current organization (one request).
        page_size: events per page; 100 is Calendly's maximum.
        initial_days: the first sync loads events that started up to this many days ago, and all future ones.
        no_show_window_days: how long after a call its host may still mark a no-show (see README.md).
        concurrency: invitee requests in flight at once (``SOURCES__CALENDLY__CONCURRENCY``); a 429 is
            waited out by each, as Calendly's Retry-After says.
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)
    # invitees cost one request per event (Calendly has no bulk listing): `concurrency` of them in flight at
    # once, across every batch of events dlt hands the transformer, so a sync waits a round trip per
    # `concurrency` events instead of per event
    requests = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="calendly")

    @dlt.resource(
        name="scheduled_events",
        primary_key="uri",
        write_disposition="merge",
        columns=EVENT_COLUMNS,
        nested_hints=EVENT_NESTED_HINTS,
    )
    def scheduled_events() -> Iterator[Any]:
        state = dlt.current.resource_state()
        plan = sync_plan(state, datetime.now(timezone.utc), initial_days, no_show_window_days)
        org = organization
        if not org:
            response = client.get(ME_PATH)
            response.raise_for_status()
            org = response.json()["resource"]["current_organization"]
        params = {
            "organization": org,
            "count": page_size,
            "sort": "start_time:asc",
            "min_start_time": iso(plan.min_start_time),
        }
        newest = plan.changed_after
        for page in pages_of(client, EVENTS_PATH, "collection", params=params):
            chosen, bad = [], []
            for record in page:
                event, problem = typed_event(record)
                if event is None:
                    bad.append(quarantine_row(SOURCE, "scheduled_events", record, problem or "malformed"))
                    continue
                newest = event["updated_at"] if newest is None else max(newest, event["updated_at"])
                if needs_invitees(event, plan):
                    chosen.append(event)
            if chosen:
                yield chosen
            yield from quarantined(bad)
        state["synced_at"] = iso(plan.now)
        state["updated_at"] = None if newest is None else iso(newest)

    @dlt.transformer(
        data_from=scheduled_events,
        name="invitees",
        primary_key="uri",
        write_disposition="merge",
        columns=INVITEE_COLUMNS,
    )
    def invitees(events: Any) -> Iterator[Any]:
        chosen = [
            event
            for event in (events if isinstance(events, list) else [events])
            if isinstance(event, dict) and "quarantine_id" not in event and "uri" in event
        ]
        for pages in requests.map(invitee_pages, chosen):  # in the events' order
            for good, bad in pages:
                if good:
                    yield good
                yield from quarantined(bad)

    def invitee_pages(event: dict[str, Any]) -> list[tuple[list[Any], list[Any]]]:
        """The invitees of one event, page by page: (loadable, quarantine rows)."""
        pages = []
        path = INVITEES_PATH.format(uuid=event_uuid(event))
        # one or two pages, read here in one of the `concurrency` threads: no reading ahead
        for page in client.paginate(path, params={"count": page_size}, data_selector=selector("collection")):
            page.response.raise_for_status()
            good, bad = [], []
            for record in page:
                invitee, problem = typed_invitee(record)
                if invitee is None:
                    bad.append(quarantine_row(SOURCE, "invitees", record, problem or "malformed"))
                else:
                    good.append(invitee)
            pages.append((good, bad))
        return pages

    return quarantining(scheduled_events, invitees)
