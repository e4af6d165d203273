"""The ECB file as the sandbox serves it (the ECB's own format, over real HTTP) and gtm.fx's reading of it."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from conftest import AS_OF, TOKEN, Sandbox

from gtm.errors import GtmError
from gtm.fx import parse_eurofxref


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox(customers=20, seed=3, token=TOKEN, anchor=AS_OF)
    yield sandbox
    sandbox.close()


def download(box: Sandbox) -> str:
    with urllib.request.urlopen(f"{box.url}/ecb/eurofxref-hist.zip") as response:
        assert response.headers["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert archive.namelist() == ["eurofxref-hist.csv"]
    return archive.read("eurofxref-hist.csv").decode()


def test_the_sandbox_serves_the_ecb_format_without_auth(box: Sandbox) -> None:
    lines = download(box).splitlines()
    assert lines[0].startswith("Date,USD,JPY,") and lines[0].endswith(",")
    days = [date.fromisoformat(line.split(",")[0]) for line in lines[1:]]
    assert days == sorted(days, reverse=True) and days[0] == AS_OF  # newest first, up to the anchor
    assert all(day.weekday() < 5 for day in days)
    assert all(line.endswith(",") for line in lines[1:])
    header = lines[0].split(",")
    hrk = header.index("HRK")
    assert lines[1].split(",")[hrk] == "N/A"  # no longer quoted
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{box.url}/ecb/eurofxref-daily.xml")
    assert missing.value.code == 404


def test_parse_reads_every_quoted_rate_and_skips_not_available(box: Sandbox) -> None:
    text = download(box)
    rows = list(parse_eurofxref(text))
    lines = text.splitlines()
    header = lines[0].split(",")
    quoted = sum(1 for line in lines[1:] for cell in line.split(",")[1:] if cell and cell != "N/A")
    assert len(rows) == quoted
    first = lines[1].split(",")
    usd = next(r for r in rows if r["currency"] == "USD" and r["rate_date"] == AS_OF)
    assert usd["rate_per_eur"] == Decimal(first[header.index("USD")])
    assert not any(r["currency"] == "HRK" and r["rate_date"] == AS_OF for r in rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Currency,USD\n2026-01-02,1.1\n", "does not start with a Date column"),
        ("Date,USD,\n2026-13-02,1.1,\n", "bad date on line 2"),
        ("Date,USD,\n2026-01-02,one,\n", "bad USD rate on line 2"),
    ],
)
def test_a_malformed_file_fails_in_one_line(text: str, message: str) -> None:
    with pytest.raises(GtmError, match=message):
        list(parse_eurofxref(text))
