"""Stripe source: customers, subscriptions (with items and discount), prices, coupons, invoices (with line
items), charges and refunds, API version 2024-06-20 pinned.

The first sync, and any sync whose cursor is older than the 30 days of events Stripe keeps, lists every
object 100 at a time (subscriptions with ``status=all``). Later syncs list the events since the cursor and
re-read by id only the objects they name (a charge's refunds through ``/v1/refunds?charge=``); prices and
coupons are re-listed (a page or two). Every table merges on ``id``, so an object that changed (a trial
that converted, an invoice that got paid) is replaced, never duplicated. Malformed objects go to
``quarantine``. See README.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from loaders.common import RetryingSession, checked_records, pages_of, quarantining
from loaders.stripe.helpers import Changes, StripePaginator, changes_of, checked, needs_full_sync
from loaders.stripe.settings import (
    ALWAYS_LISTED,
    API_VERSION,
    COLUMNS,
    CONCURRENCY,
    DEFAULT_BASE_URL,
    EVENTS_PATH,
    INVOICE_LINES_PATH,
    LIST_PARAMS,
    LIST_PATHS,
    NESTED_HINTS,
    PAGE_SIZE,
    SUBSCRIPTION_UPDATED,
)

SOURCE = "stripe"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for Stripe's API: bearer secret key, pinned version, retries, starting_after paging."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Stripe-Version": API_VERSION, "Accept": "application/json"},
        auth=BearerTokenAuth(access_token),
        paginator=StripePaginator(),
        session=session or RetryingSession(),
    )


@dlt.source(name=SOURCE, max_table_nesting=4)
def stripe_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    page_size: int = PAGE_SIZE,
    concurrency: int = CONCURRENCY,
    session: RetryingSession | None = None,
    now: int | None = None,
) -> Any:
    """Stripe billing objects of one account.

    Args:
        access_token: secret or restricted read key (``SOURCES__STRIPE__ACCESS_TOKEN``).
        base_url: API base URL (``SOURCES__STRIPE__BASE_URL``), e.g. a proxy or the sandbox.
        page_size: objects per list page; 100 is Stripe's maximum.
        concurrency: reads by id in flight at once (``SOURCES__STRIPE__CONCURRENCY``): the objects an
            incremental sync's events name, and the lines of invoices with more than 10.
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
        now: Unix seconds taken as now for the 30-day events window (default: the clock).
    """
    client = make_client(access_token, base_url, session)
    plan: dict[str, Any] = {}
    # one request per object read by id: `concurrency` in flight at once, the results in the ids' order
    reads = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="stripe")

    def get(path: str, params: dict[str, Any] | None = None) -> dict:
        response = client.get(path, params=params)
        response.raise_for_status()  # a 429/5xx that outlasted the retries, or a 4xx
        return response.json()

    def listing(path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        yield from pages_of(client, path, "data", params={"limit": page_size, **(params or {})})

    def changes() -> Changes | None:
        """The events since the cursor (None: list everything). Read once per sync, shared by every
        resource; the new cursor is kept in the source state, which dlt commits with the load."""
        if "changes" in plan:
            return plan["changes"]
        state = dlt.current.source_state().setdefault("events", {})
        cursor = state.get("cursor")
        if needs_full_sync(cursor, now or int(time.time())):
            # the newest events, read before listing so nothing changed meanwhile is missed; those of the
            # newest second are remembered, as the next sync lists from that second on
            newest = get(EVENTS_PATH, {"limit": page_size})["data"]
            state["cursor"] = newest[0]["created"] if newest else now or int(time.time())
            state["cursor_ids"] = [e["id"] for e in newest if e["created"] == state["cursor"]]
            plan["changes"] = None
        else:
            events = [event for page in listing(EVENTS_PATH, {"created[gte]": cursor}) for event in page]
            found = changes_of(events, cursor, state.get("cursor_ids") or [])
            state["cursor"], state["cursor_ids"] = found.newest, found.newest_ids
            plan["changes"] = found
        return plan["changes"]

    def with_all_lines(invoice: Any) -> Any:
        """An invoice whose embedded `lines` were cut at Stripe's 10, completed from its lines endpoint."""
        if not isinstance(invoice, dict) or not (invoice.get("lines") or {}).get("has_more"):
            return invoice
        path = INVOICE_LINES_PATH.format(id=invoice["id"])
        lines = [line for page in listing(path) for line in page]
        return {**invoice, "lines": {**invoice["lines"], "data": lines, "has_more": False}}

    def make_resource(name: str) -> Any:
        @dlt.resource(
            name=name,
            primary_key="id",
            write_disposition="merge",
            columns=COLUMNS[name],
            nested_hints=NESTED_HINTS.get(name),
        )
        def resource() -> Iterator[Any]:
            found = changes()
            if found is None or name in ALWAYS_LISTED:
                pages: Iterator[list[Any]] = listing(LIST_PATHS[name], LIST_PARAMS.get(name))
            elif name == "refunds":
                pages = (
                    page
                    for charge in sorted(found.refunded_charges)
                    for page in listing(LIST_PATHS[name], {"charge": charge})
                )
            else:
                paths = [f"{LIST_PATHS[name]}/{object_id}" for object_id in sorted(found.ids[name])]
                pages = iter([list(reads.map(get, paths))])
            for page in pages:
                if name == "invoices":
                    page = list(reads.map(with_all_lines, page))
                yield from checked_records(SOURCE, name, page, checked)

        return resource

    @dlt.resource(
        name="subscription_events",
        primary_key="id",
        write_disposition="merge",
        columns=COLUMNS["subscription_events"],
        nested_hints=NESTED_HINTS["subscription_events"],
    )
    def subscription_events() -> Iterator[Any]:
        found = changes()
        if found is None:
            pages: Any = listing(EVENTS_PATH, {"type": SUBSCRIPTION_UPDATED})
        else:
            pages = [found.subscription_updates]
        for page in pages:
            yield from checked_records(SOURCE, "subscription_events", page, checked)

    return quarantining(*(make_resource(name) for name in LIST_PATHS), subscription_events)
