"""ChartMogul source: customers and their MRR activities (new_biz, expansion, contraction, churn,
reactivation), to reconcile the Stripe revenue timeline with ChartMogul's reading.

Customers are re-listed on every sync (200 a page) and merge on ``uuid``. Activities are listed oldest
first with ``start-date`` set to the newest activity seen less a restatement window (everything on the
first sync) and merge on ``uuid``. HTTP Basic auth with the API key as the user name. See README.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth

from loaders.chartmogul.helpers import (
    HasMoreCursorPaginator,
    activities_start,
    activity_problem,
    customer_problem,
)
from loaders.chartmogul.settings import (
    ACTIVITIES_PATH,
    ACTIVITY_COLUMNS,
    CUSTOMER_COLUMNS,
    CUSTOMERS_PATH,
    DEFAULT_BASE_URL,
    PER_PAGE,
)
from loaders.common import RetryingSession, checked_records, pages_of, quarantining

SOURCE = "chartmogul"


def make_client(access_token: str, base_url: str, session: RetryingSession | None = None) -> RESTClient:
    """A REST client for ChartMogul's API with Basic auth (API key as user), retries and cursor paging."""
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"Accept": "application/json"},
        auth=HttpBasicAuth(access_token, ""),
        paginator=HasMoreCursorPaginator(),
        session=session or RetryingSession(),
    )


@dlt.source(name=SOURCE, max_table_nesting=0)
def chartmogul_source(
    access_token: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    per_page: int = PER_PAGE,
    session: RetryingSession | None = None,
) -> Any:
    """ChartMogul customers and activities of one account.

    Args:
        access_token: API key (``SOURCES__CHARTMOGUL__ACCESS_TOKEN``).
        base_url: API base URL (``SOURCES__CHARTMOGUL__BASE_URL``), e.g. a proxy or the sandbox.
        per_page: records per page; 200 is ChartMogul's maximum.
        session: HTTP session to use (tests and ``gtm sync`` pass one to count requests).
    """
    client = make_client(access_token, base_url, session)

    def listing(path: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        yield from pages_of(client, path, "entries", params={"per_page": per_page, **params})

    @dlt.resource(name="customers", primary_key="uuid", write_disposition="merge", columns=CUSTOMER_COLUMNS)
    def customers() -> Iterator[Any]:
        for page in listing(CUSTOMERS_PATH, {}):
            yield from checked_records(SOURCE, "customers", page, lambda r: (r, customer_problem(r)))

    @dlt.resource(name="activities", primary_key="uuid", write_disposition="merge", columns=ACTIVITY_COLUMNS)
    def activities() -> Iterator[Any]:
        state = dlt.current.resource_state()
        start = activities_start(state.get("newest_date"))
        newest = state.get("newest_date")
        for page in listing(ACTIVITIES_PATH, {"start-date": start} if start else {}):
            for record in page:
                if isinstance(record, dict) and isinstance(record.get("date"), str):
                    newest = max(newest or record["date"], record["date"])
            yield from checked_records(SOURCE, "activities", page, lambda r: (r, activity_problem(r)))
        state["newest_date"] = newest

    return quarantining(customers, activities)
