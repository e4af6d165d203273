"""Pure helpers of the loaders and the CLI: search bodies, validation, retry delays, redaction."""

from __future__ import annotations

import time

import pytest
import requests
from conftest import TOKEN

from gtm.errors import redact
from loaders.common import RetryingSession, retry_delay, timestamp_problem
from loaders.intercom.helpers import contact_problem, conversation_problem, search_body


def test_first_sync_asks_for_everything_in_pages_of_150() -> None:
    body = search_body(None)
    assert body["pagination"] == {"per_page": 150}
    assert body["query"] == {"field": "updated_at", "operator": ">", "value": 0}
    assert body["sort"] == {
        "field": "updated_at",
        "order": "descending",
    }  # lets an incremental sync stop early


def test_incremental_search_overlaps_one_day() -> None:
    assert search_body(1_700_000_000)["query"]["value"] == 1_700_000_000 - 86_400


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ({"id": "a", "updated_at": 1}, None),
        (
            {"id": "a", "updated_at": 1, "created_at": "2024-13-45"},
            "created_at is not a non-negative integer timestamp: '2024-13-45'",
        ),
        (
            {"id": "a", "updated_at": 1, "last_seen_at": -5},
            "last_seen_at is not a non-negative integer timestamp: -5",
        ),
        ({"id": "a"}, "updated_at is missing"),
        ({"updated_at": 1}, "id is missing"),
        (
            {"id": "a", "updated_at": 1, "custom_attributes": {"Stripe Payments": "oops"}},
            "custom attribute 'Stripe Payments' is not a list",
        ),
        ("not a dict", "record is not a JSON object"),
    ],
)
def test_contact_validation(contact: object, problem: str | None) -> None:
    assert contact_problem(contact) == problem


def test_conversation_validation() -> None:
    assert conversation_problem({"id": "1", "updated_at": 5, "created_at": 4}) is None
    assert conversation_problem({"id": "1", "updated_at": 5, "created_at": True}) is not None
    assert timestamp_problem({"a": None}, ("a",), required=()) is None


def _response(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_retry_delay_prefers_the_servers_word() -> None:
    assert retry_delay(_response(429, **{"Retry-After": "3"}), 0, 0.5, 60) == 3
    reset = str(int(time.time()) + 10)
    assert 8 < retry_delay(_response(429, **{"X-RateLimit-Reset": reset}), 0, 0.5, 60) <= 10.1
    assert 11 < retry_delay(_response(429, **{"X-RateLimit-Reset": "12"}), 0, 0.5, 60) <= 12.1  # Calendly
    hubspot = _response(429, **{"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})
    assert retry_delay(hubspot, 0, 0.5, 60) == 10
    assert retry_delay(_response(500), 3, 0.5, 60) == 4.0
    assert retry_delay(None, 10, 0.5, 60) == 60


def test_session_waits_out_429s_from_the_sandbox(sandbox) -> None:
    sandbox.control(
        "POST", "faults", {"path_prefix": "/intercom/", "status": 429, "count": 2, "retry_after": 1}
    )
    waits: list[float] = []
    session = RetryingSession(sleep=waits.append)
    response = session.post(
        f"{sandbox.url}/intercom/contacts/search",
        json={"pagination": {"per_page": 1}},
        headers={"Authorization": "Bearer canary-tok-7c1e9b2f4d6a8e03"},
    )
    assert response.status_code == 200
    assert session.requests_made == 3 and len(waits) == 2
    assert all(0 < wait <= 1.1 for wait in waits)  # the 429's Retry-After, not a blind backoff


def test_session_retries_server_errors(sandbox) -> None:
    sandbox.control("POST", "faults", {"path_prefix": "/intercom/", "status": 500, "count": 2})
    waits: list[float] = []
    session = RetryingSession(backoff=0.25, sleep=waits.append)
    response = session.post(
        f"{sandbox.url}/intercom/contacts/search",
        json={"pagination": {"per_page": 1}},
        headers={"Authorization": "Bearer canary-tok-7c1e9b2f4d6a8e03"},
    )
    assert response.status_code == 200 and waits == [0.25, 0.5]


def test_a_paginated_intercom_sync_survives_429_and_500(sandbox, tmp_path) -> None:
    """dlt's paginator raises on an error answer in a response hook; the session must retry first."""
    import dlt

    from loaders.intercom import intercom_source

    sandbox.control("POST", "faults", {"path_prefix": "/intercom/contacts", "status": 429, "count": 2})
    session = RetryingSession(sleep=lambda _: None)
    source = intercom_source(access_token=TOKEN, base_url=f"{sandbox.url}/intercom", session=session)
    pipeline = dlt.pipeline(
        "retry_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "r.duckdb")),
        dataset_name="raw_intercom",
        pipelines_dir=str(tmp_path / "p"),
    )
    pipeline.run(source.with_resources("contacts"))
    assert pipeline.last_trace.last_normalize_info.row_counts["contacts"] > 100
    assert sandbox.stats()["statuses"]["429"] == 2


def test_session_gives_up_after_max_attempts(sandbox) -> None:
    sandbox.control("POST", "faults", {"path_prefix": "/intercom/", "status": 503, "count": 10})
    session = RetryingSession(max_attempts=3, sleep=lambda _: None)
    response = session.post(f"{sandbox.url}/intercom/contacts/search", json={})
    assert response.status_code == 503 and session.requests_made == 3


def test_redact_masks_tokens_and_url_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__INTERCOM__ACCESS_TOKEN", "tok-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pa55word@h:5432/db")
    text = redact("failed with tok-secret-123 at postgresql://u:pa55word@h:5432/db and pa55word")
    assert "tok-secret-123" not in text and "pa55word" not in text
    assert "postgresql://u:***@h:5432/db" in text
