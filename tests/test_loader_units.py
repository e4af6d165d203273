"""Pure helpers of the loaders and the CLI: search bodies, validation, retry delays, redaction."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from conftest import TOKEN

from gtm.errors import redact
from loaders.common import (
    QUARANTINE_HINTS,
    RetryingSession,
    is_json,
    prefetched,
    retry_delay,
    timestamp_problem,
    value_problem,
)
from loaders.intercom.helpers import beyond_cursor, contact_problem, conversation_problem, search_body


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


def _response(status: int = 200, body: bytes = b"", **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = body
    return response


BEYOND_64_BITS = "a exceeds the 64-bit integer range"


@pytest.mark.parametrize(
    ("body", "value", "problem"),
    [
        (b'{"a": 9223372036854775807, "b": [1.5, "x", null]}', {"a": 2**63 - 1, "b": [1.5, "x", None]}, None),
        (b'{"a": 123456789012345678901234}', {"a": 123456789012345678901234}, BEYOND_64_BITS),
        (b'{"a": -9223372036854775809}', {"a": -(2**63) - 1}, BEYOND_64_BITS),
        (b'{"a": 18446744073709551616}', {"a": 2**64}, BEYOND_64_BITS),
        (b'{"a": 1e400}', {"a": float("inf")}, "a is not a finite number"),
        (b'{"a": "\\ud800"}', {"a": "\ud800"}, None),
    ],
)
def test_an_answer_is_parsed_once_and_keeps_every_integer_exact(
    body: bytes, value: dict[str, object], problem: str | None
) -> None:
    response = _response(body=body)
    assert is_json(response)
    assert response.json() == value
    assert type(response.json()["a"]) is type(value["a"])  # an integer stays an integer, not a float
    assert value_problem(response.json()) == problem


def test_an_answer_that_is_not_json_is_told_apart() -> None:
    assert not is_json(_response(body=b"<html>502 Bad Gateway</html>"))
    assert not is_json(_response(body=b'{"a": 1'))
    assert is_json(_response(body=b"  "))  # nothing to parse
    nan = _response(body=b'{"a": NaN}')
    assert is_json(nan) and value_problem(nan.json()) == "a is not a finite number"


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


def test_prefetched_keeps_the_order_and_raises_where_the_error_was() -> None:
    def pages():
        yield [1]
        yield [2]
        raise RuntimeError("page 3 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in prefetched(pages()):
            got.append(page)
    assert got == [[1], [2]]


def test_prefetched_requests_the_next_page_while_the_caller_works() -> None:
    second_requested = threading.Event()

    def pages():
        yield [1]
        second_requested.set()
        yield [2]

    listing = prefetched(pages())
    assert next(listing) == [1]
    assert second_requested.wait(timeout=10)  # asked for before the caller wants it
    assert list(listing) == [[2]]


def test_prefetched_waits_for_the_caller_after_a_page_it_may_stop_at() -> None:
    requested = []

    def pages():
        for number in range(1, 6):
            requested.append(number)
            yield [number]

    listing = prefetched(pages(), read_ahead=lambda page: page[0] < 2)
    assert [next(listing), next(listing)] == [[1], [2]]
    time.sleep(0.3)  # time enough for a reader that does not wait to ask for page 3
    assert requested == [1, 2]
    assert next(listing) == [3]  # the caller goes on: the reader does too
    listing.close()
    assert requested[:3] == [1, 2, 3] and len(requested) <= 5


def test_closing_prefetched_stops_the_reader() -> None:
    requested = []

    def endless():
        while True:
            requested.append(len(requested))
            yield [len(requested)]

    listing = prefetched(endless(), depth=2)
    next(listing)
    listing.close()
    seen = len(requested)
    time.sleep(0.3)
    assert len(requested) == seen <= 4  # the page handed over, two queued, one waiting to be
    assert not any(thread.name == "prefetch" for thread in threading.enumerate())


def test_a_page_is_beyond_the_cursor_only_when_every_record_is_newer() -> None:
    assert beyond_cursor([{"updated_at": 5}], None)  # a first sync reads everything
    assert beyond_cursor([{"updated_at": 11}, {"updated_at": 12}], 10)
    assert not beyond_cursor([{"updated_at": 11}, {"updated_at": 10}], 10)  # may be loaded already
    assert not beyond_cursor([{"updated_at": 11}, {"updated_at": "11"}], 10)  # not sure: ask first


def test_an_incremental_intercom_sync_reads_ahead_without_an_extra_request(sandbox, tmp_path) -> None:
    """The next search page is read ahead only while every record is newer than the cursor: a sync that
    stops at the records it loaded last time makes exactly the requests it made without reading ahead."""
    import dlt

    from loaders.intercom import intercom_source

    contacts = [sandbox.company.contact_id(index) for index in range(19)]
    for contact in contacts[:12]:  # the newest before the first sync: the cursor and its overlap day
        sandbox.control("POST", f"intercom/contacts/{contact}", {"name": "Before"})
    pipeline = dlt.pipeline(
        "read_ahead_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "r.duckdb")),
        dataset_name="raw_intercom",
        pipelines_dir=str(tmp_path / "p"),
    )

    def sync() -> int:
        session = RetryingSession(sleep=lambda _: None)
        source = intercom_source(
            access_token=TOKEN, base_url=f"{sandbox.url}/intercom", per_page=5, session=session
        )
        pipeline.run(source.with_resources("contacts"))
        return session.requests_made

    sync()
    time.sleep(1.1)  # the next changes are a second newer than the cursor
    for contact in contacts[12:]:
        sandbox.control("POST", f"intercom/contacts/{contact}", {"name": "After"})
    # page 1: five of the seven changed; page 2: the other two and three loaded last time (the sync stops);
    # pages 3 and 4 hold the rest of the overlap day, never asked for
    assert sync() == 2
    with pipeline.sql_client() as client:
        after = client.execute_sql("select count(*) from contacts where name = 'After'")
    assert after[0][0] == 7


def test_the_session_reads_proxies_from_the_environment_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "api.calendly.com")
    session = RetryingSession()
    settings = session.merge_environment_settings("https://api.intercom.io/contacts", {}, None, None, None)
    assert settings["proxies"]["https"] == "http://proxy.internal:3128"
    settings["proxies"]["https"] = "changed by a caller"
    monkeypatch.setenv("HTTPS_PROXY", "http://other:1")  # read once per host: the first answer stays
    again = session.merge_environment_settings("https://api.intercom.io/conversations", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.internal:3128"
    bypassed = session.merge_environment_settings("https://api.calendly.com/users/me", {}, None, None, None)
    assert "https" not in bypassed["proxies"]


def test_redact_masks_tokens_and_url_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__INTERCOM__ACCESS_TOKEN", "tok-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pa55word@h:5432/db")
    text = redact("failed with tok-secret-123 at postgresql://u:pa55word@h:5432/db and pa55word")
    assert "tok-secret-123" not in text and "pa55word" not in text
    assert "postgresql://u:***@h:5432/db" in text


def test_every_resource_of_every_api_source_declares_the_quarantine_table() -> None:
    """`quarantined` sends rows to the table by name: a resource without the declared variant would write
    them with its own hints (its primary key, its columns)."""
    from dlt.extract.items import TableNameMeta

    from loaders import SOURCES

    for name, spec in SOURCES.items():
        if not spec.http:
            continue
        source = spec.load()(access_token=TOKEN, base_url="http://127.0.0.1:9")
        for resource in source.resources.values():
            table = resource.compute_table_schema(meta=TableNameMeta("quarantine"))
            keys = [column for column, hints in table["columns"].items() if hints.get("primary_key")]
            assert (table["write_disposition"], keys) == ("merge", ["quarantine_id"]), (name, resource.name)
            assert set(table["columns"]) == set(QUARANTINE_HINTS["columns"]), (name, resource.name)


@pytest.mark.parametrize(
    ("records", "arrow", "processes"), [(19_999, False, 1), (20_000, False, 2), (50_000, True, 1)]
)
def test_a_large_sync_of_records_normalizes_in_two_processes(
    tmp_path, records: int, arrow: bool, processes: int
) -> None:
    import dlt
    import pyarrow as pa

    from gtm.sync import normalize_processes

    pipeline = dlt.pipeline("units", destination="duckdb", pipelines_dir=str(tmp_path))
    rows = [{"id": n} for n in range(records)]
    extracted = pipeline.extract(pa.Table.from_pylist(rows) if arrow else rows, table_name="rows")
    assert normalize_processes(extracted) == processes
