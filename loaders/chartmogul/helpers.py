"""Pure functions of the ChartMogul loader: the paginator, the activity window, record validation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BaseReferencePaginator
from requests import Request, Response

from loaders.chartmogul.settings import RESTATEMENT_DAYS


class HasMoreCursorPaginator(BaseReferencePaginator):
    """ChartMogul paging: while `has_more`, send back the `cursor` it answered."""

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        self._next_reference = body.get("cursor") if body.get("has_more") else None

    def update_request(self, request: Request) -> None:
        if request.params is None:
            request.params = {}
        request.params["cursor"] = self._next_reference


def activities_start(newest: str | None, restatement_days: int = RESTATEMENT_DAYS) -> str | None:
    """`start-date` of the next activities listing: None (everything) on a first sync, else the newest
    activity date seen less the restatement window."""
    if not newest:
        return None
    return (date.fromisoformat(newest[:10]) - timedelta(days=restatement_days)).isoformat()


def customer_problem(record: Any) -> str | None:
    """Why a ChartMogul customer cannot be loaded, or None."""
    if not isinstance(record, Mapping):
        return "not an object"
    if not isinstance(record.get("uuid"), str) or not record["uuid"]:
        return "uuid is missing"
    return None


def activity_problem(record: Any) -> str | None:
    """Why a ChartMogul activity cannot be loaded, or None."""
    problem = customer_problem(record)
    if problem:
        return problem
    try:
        date.fromisoformat(str(record.get("date"))[:10])
    except ValueError:
        return f"date is not an ISO date: {record.get('date')!r}"
    if not isinstance(record.get("activity-mrr-movement"), int):
        return "activity-mrr-movement is not an integer"
    return None
