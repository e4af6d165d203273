"""Userflow source: users (email, signup, last seen) and content sessions (onboarding checklist progress).

Userflow's REST API lists objects by creation time with `limit` up to 100 and `starting_after` paging, and
has no "updated since" filter, while a content session's progress changes in place. So each sync lists
both collections whole, 100 per page, and merges on `id`: ceil(users / 100) + ceil(sessions / 100)
requests, the fewest the API allows. Userflow's events are write-only (webhooks read them back), so logins
come from the product database. Malformed records go to ``quarantine``. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from loaders.common import RetryingSession, checked_records, pages_of, quarantining
from loaders.userflow.helpers import StartingAfterPaginator, typed_session, typed_user
from loaders.userflow.settings import (
    API_VERSION,
    CONTENT_SESSION_COLUMNS,
    CONTENT_SESSIONS_PATH,
    DEFAULT_BASE_URL,
    PAGE_SIZE,
    USER_COLUMNS,
    USERS_PATH,
)

SOURCE = "userflow"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for Userflow's API: bearer key, the pinned API version, `starting_after` paging."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Accept": "application/json", "Userflow-Version": API_VERSION},
        auth=BearerTokenAuth(access_token),
        paginator=StartingAfterPaginator(),
        session=session or RetryingSession(),
    )


@dlt.source(name=SOURCE, max_table_nesting=1)
def userflow_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    page_size: int = PAGE_SIZE,
    session: RetryingSession | None = None,
) -> Any:
    """Userflow users and content sessions.

    Args:
        access_token: a Userflow API key (``SOURCES__USERFLOW__ACCESS_TOKEN``; Settings > API).
        base_url: API base URL (``SOURCES__USERFLOW__BASE_URL``), e.g. a proxy or the sandbox.
        page_size: objects per page; 100 is Userflow's maximum.
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)

    def listed(path: str, entity: str, check: Any, params: dict[str, Any]) -> Iterator[Any]:
        for page in pages_of(client, path, "data", params={"limit": page_size, **params}):
            yield from checked_records(SOURCE, entity, page, check)

    @dlt.resource(name="users", primary_key="id", write_disposition="merge", columns=USER_COLUMNS)
    def users() -> Iterator[Any]:
        yield from listed(USERS_PATH, "users", typed_user, {})

    @dlt.resource(
        name="content_sessions", primary_key="id", write_disposition="merge", columns=CONTENT_SESSION_COLUMNS
    )
    def content_sessions() -> Iterator[Any]:
        yield from listed(CONTENT_SESSIONS_PATH, "content_sessions", typed_session, {"expand": "content"})

    return quarantining(users, content_sessions)
