"""Intercom source: contacts (with the Stripe data of Intercom's Stripe app) and conversations.

Both resources page through Intercom's search endpoints 150 records at a time and are incremental on
``updated_at``; records merge on ``id``. Malformed records go to the ``quarantine`` table with their reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from loaders.common import RetryingSession, checked_records, pages_of, quarantining
from loaders.intercom.helpers import (
    beyond_cursor,
    contact_problem,
    conversation_problem,
    parts_of,
    search_body,
)
from loaders.intercom.settings import (
    API_VERSION,
    CANCEL_WINDOW_DAYS,
    CONTACT_COLUMNS,
    CONTACT_NESTED_HINTS,
    CONVERSATION_COLUMNS,
    CONVERSATION_NESTED_HINTS,
    CONVERSATION_PART_COLUMNS,
    DEFAULT_BASE_URL,
    PER_PAGE,
)

SOURCE = "intercom"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for Intercom's API with bearer auth, retries and search-cursor pagination."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Intercom-Version": API_VERSION, "Accept": "application/json"},
        auth=BearerTokenAuth(access_token),
        paginator=JSONResponseCursorPaginator(
            cursor_path="pages.next.starting_after", cursor_body_path="pagination.starting_after"
        ),
        session=session or RetryingSession(),
    )


def _search(
    client: RESTClient, path: str, data_selector: str, last_updated_at: int | None, per_page: int
) -> Iterator[list[Any]]:
    """The search's pages, newest first, read ahead of the caller until a page reaches back to the cursor:
    the incremental resource may stop there (later pages hold the overlap day it already has)."""
    body = search_body(last_updated_at, per_page)
    yield from pages_of(
        client,
        path,
        data_selector,
        lambda page: beyond_cursor(page, last_updated_at),
        method="POST",
        json=body,
    )


@dlt.source(name=SOURCE, max_table_nesting=3)
def intercom_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    per_page: int = PER_PAGE,
    conversation_parts: bool = False,
    cancel_window_days: int = CANCEL_WINDOW_DAYS,
    session: RetryingSession | None = None,
) -> Any:
    """Intercom contacts and conversations.

    Args:
        access_token: Intercom access token (``SOURCES__INTERCOM__ACCESS_TOKEN``).
        base_url: API base URL (``SOURCES__INTERCOM__BASE_URL``), e.g. a proxy or the sandbox.
        per_page: search page size; 150 is Intercom's maximum.
        conversation_parts: also fetch the parts (replies) of conversations created within
            ``cancel_window_days``, one request per such conversation, so cancel detection sees replies.
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)

    @dlt.resource(
        name="contacts",
        primary_key="id",
        write_disposition="merge",
        columns=CONTACT_COLUMNS,
        nested_hints=CONTACT_NESTED_HINTS,
    )
    def contacts(
        updated_at: dlt.sources.incremental[int] = dlt.sources.incremental(
            "updated_at", initial_value=0, row_order="desc", on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        for page in _search(client, "/contacts/search", "data", updated_at.last_value, per_page):
            yield from checked_records(
                SOURCE, "contacts", page, lambda record: (record, contact_problem(record))
            )

    @dlt.resource(
        name="conversations",
        primary_key="id",
        write_disposition="merge",
        columns=CONVERSATION_COLUMNS,
        nested_hints=CONVERSATION_NESTED_HINTS,
    )
    def conversations(
        updated_at: dlt.sources.incremental[int] = dlt.sources.incremental(
            "updated_at", initial_value=0, row_order="desc", on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        for page in _search(
            client, "/conversations/search", "conversations", updated_at.last_value, per_page
        ):
            yield from checked_records(
                SOURCE, "conversations", page, lambda record: (record, conversation_problem(record))
            )

    @dlt.transformer(
        data_from=conversations,
        name="conversation_parts",
        primary_key="id",
        write_disposition="merge",
        columns=CONVERSATION_PART_COLUMNS,
    )
    def parts(page: list[Any]) -> Iterator[Any]:
        since = time.time() - cancel_window_days * 86_400
        for conversation in page:
            if not isinstance(conversation, dict) or (conversation.get("created_at") or 0) < since:
                continue
            detail = client.get(f"/conversations/{conversation['id']}")
            detail.raise_for_status()
            yield parts_of(detail.json())

    resources = [contacts, conversations]
    if conversation_parts:
        resources.append(parts)
    return quarantining(*resources)
