"""HubSpot source: contacts, companies and deals (with their contacts) through CRM search, and owners.

Contacts, companies and deals are incremental on their last-modified date and merge on ``id``. Each sync
asks the search endpoint for what changed since the last cursor, oldest change first, 200 at a time, and
starts a new time window from the last timestamp read whenever the next page would pass the search's
10,000-result cap. Deal-to-contact associations come from one v4 batch read per 1,000 changed deals.
Owners (the AMs, including archived ones who left) are read whole. Malformed records go to ``quarantine``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from loaders.common import (
    RetryingSession,
    checked_records,
    pages_of,
    prefetched,
    quarantined,
    quarantining,
    split_page,
)
from loaders.hubspot.helpers import (
    association_pages,
    associations_by_id,
    cursor_millis,
    next_after,
    past_cap,
    search_body,
    to_millis,
    typed_company,
    typed_contact,
    typed_deal,
)
from loaders.hubspot.settings import (
    ASSOCIATION_BATCH,
    ASSOCIATIONS_PATH,
    COMPANY_COLUMNS,
    COMPANY_PROPERTIES,
    CONTACT_COLUMNS,
    CONTACT_NESTED_HINTS,
    CONTACT_PROPERTIES,
    CURSOR_PROPERTY,
    DEAL_COLUMNS,
    DEAL_NESTED_HINTS,
    DEAL_PROPERTIES,
    DEFAULT_BASE_URL,
    OWNER_COLUMNS,
    OWNERS_PAGE_SIZE,
    OWNERS_PATH,
    PAGE_SIZE,
    SEARCH_CAP,
    SEARCH_PATH,
    SETTLE_SECONDS,
)

SOURCE = "hubspot"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for HubSpot's API with bearer auth and retries that honour HubSpot's rate limits."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        auth=BearerTokenAuth(access_token),
        paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after", cursor_param="after"),
        session=session or RetryingSession(),
    )


def search_windows(
    client: RESTClient,
    object_type: str,
    properties: tuple[str, ...],
    start_ms: int,
    end_ms: int,
    page_size: int = PAGE_SIZE,
    cap: int = SEARCH_CAP,
) -> Iterator[list[Any]]:
    """Pages of every object whose cursor property is in [start_ms, end_ms), oldest change first.

    One search pages with `after` until its next page would pass the cap; then a new search (window)
    starts at the newest timestamp read, skipping the ids already read at exactly that timestamp."""
    cursor_property = CURSOR_PROPERTY[object_type]
    path = SEARCH_PATH.format(object_type=object_type)
    low, seen_at_low = start_ms, set[str]()
    while True:
        after: str | None = None
        newest, seen_at_newest = low, set(seen_at_low)
        while True:
            body = search_body(cursor_property, low, end_ms, properties, page_size, after)
            response = client.post(path, json=body)
            response.raise_for_status()
            answer = response.json()
            results = [
                r
                for r in answer.get("results") or []
                if not (isinstance(r, dict) and r.get("id") in seen_at_low)
            ]
            for record in results:
                stamp = cursor_millis(record, cursor_property)
                if stamp is not None and stamp > newest:
                    newest, seen_at_newest = stamp, set()
                if stamp == newest and isinstance(record, dict):
                    seen_at_newest.add(record.get("id"))
            yield results
            after = next_after(answer)
            if after is None:
                return
            if past_cap(after, page_size, cap):
                break
        if newest == low and seen_at_newest == seen_at_low:
            raise RuntimeError(
                f"more than {cap} HubSpot {object_type} share {cursor_property} {low}: "
                "the search cannot page past them"
            )
        low, seen_at_low = newest, seen_at_newest


def _with_contacts(client: RESTClient, deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deals with `associations.contacts` ([{id, type}]) from one v4 batch read (plus one per page of
    the rare deal with more associated contacts than an answer holds)."""
    path = ASSOCIATIONS_PATH.format(from_type="deals", to_type="contacts")
    found: dict[str, list[dict[str, str]]] = {}
    inputs: list[dict[str, str]] = [{"id": deal["id"]} for deal in deals]
    while inputs:
        response = client.post(path, json={"inputs": inputs})
        response.raise_for_status()  # 207 (some ids unknown, e.g. deleted since the search) is fine
        answer = response.json()
        for deal_id, contacts in associations_by_id(answer, "deal_to_contact").items():
            found.setdefault(deal_id, []).extend(contacts)
        inputs = association_pages(answer)
    for deal in deals:
        deal["associations"] = {"contacts": found.get(deal["id"], [])}
    return deals


@dlt.source(name=SOURCE, max_table_nesting=2)
def hubspot_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    page_size: int = PAGE_SIZE,
    search_cap: int = SEARCH_CAP,
    settle_seconds: int = SETTLE_SECONDS,
    session: RetryingSession | None = None,
) -> Any:
    """HubSpot contacts, companies, deals (with their contacts) and owners.

    Args:
        access_token: private app token (``SOURCES__HUBSPOT__ACCESS_TOKEN``), with the scopes
            crm.objects.contacts.read,
            crm.objects.companies.read, crm.objects.deals.read, crm.objects.owners.read.
        base_url: API base URL (``SOURCES__HUBSPOT__BASE_URL``), e.g. a proxy or the sandbox.
        page_size: search page size; 200 is HubSpot's maximum.
        search_cap: results one search query can page through (HubSpot: 10,000); windows split below it.
        settle_seconds: read changes up to this many seconds before the sync started (search index lag).
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)

    def window(cursor: dlt.sources.incremental[Any]) -> tuple[int, int]:
        # From just after the newest change the previous sync loaded: it only read changes older than
        # settle_seconds, which the search index already held, so nothing else carries that timestamp.
        start = 0 if cursor.start_value is None else to_millis(cursor.start_value) + 1
        return start, int((time.time() - settle_seconds) * 1000)

    @dlt.resource(
        name="contacts",
        primary_key="id",
        write_disposition="merge",
        columns=CONTACT_COLUMNS,
        nested_hints=CONTACT_NESTED_HINTS,
    )
    def contacts(
        modified: dlt.sources.incremental[Any] = dlt.sources.incremental(
            "properties.lastmodifieddate", initial_value=None, on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        for page in prefetched(
            search_windows(client, "contacts", CONTACT_PROPERTIES, *window(modified), page_size, search_cap)
        ):
            yield from checked_records(SOURCE, "contacts", page, typed_contact)

    @dlt.resource(name="companies", primary_key="id", write_disposition="merge", columns=COMPANY_COLUMNS)
    def companies(
        modified: dlt.sources.incremental[Any] = dlt.sources.incremental(
            "properties.hs_lastmodifieddate", initial_value=None, on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        for page in prefetched(
            search_windows(client, "companies", COMPANY_PROPERTIES, *window(modified), page_size, search_cap)
        ):
            yield from checked_records(SOURCE, "companies", page, typed_company)

    @dlt.resource(
        name="deals",
        primary_key="id",
        write_disposition="merge",
        columns=DEAL_COLUMNS,
        nested_hints=DEAL_NESTED_HINTS,
    )
    def deals(
        modified: dlt.sources.incremental[Any] = dlt.sources.incremental(
            "properties.hs_lastmodifieddate", initial_value=None, on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        batch: list[dict[str, Any]] = []
        for page in prefetched(
            search_windows(client, "deals", DEAL_PROPERTIES, *window(modified), page_size, search_cap)
        ):
            good, bad = split_page(SOURCE, "deals", page, typed_deal)
            batch.extend(good)
            yield from quarantined(bad)
            while len(batch) >= ASSOCIATION_BATCH:
                yield _with_contacts(client, batch[:ASSOCIATION_BATCH])
                batch = batch[ASSOCIATION_BATCH:]
        if batch:
            yield _with_contacts(client, batch)

    @dlt.resource(name="owners", primary_key="id", write_disposition="merge", columns=OWNER_COLUMNS)
    def owners() -> Iterator[Any]:
        # Active owners and, in a second listing, archived ones: AMs who left but may still own records.
        for archived in ("false", "true"):
            params = {"limit": OWNERS_PAGE_SIZE, "archived": archived}
            yield from pages_of(client, OWNERS_PATH, "results", params=params)

    return quarantining(contacts, companies, deals, owners)
