"""`gtm fx refresh`: the European Central Bank's daily euro reference rates into `raw_ecb.reference_rates`.

The ECB publishes every TARGET day's rates (units of a currency per euro) as one public file,
`<base>/eurofxref-hist.zip` holding `eurofxref-hist.csv` (header `Date,USD,JPY,...,`, newest day first,
`N/A` for a currency not quoted that day). The base URL is `sources.ecb.base_url` (env
`SOURCES__ECB__BASE_URL`, default the ECB's); no key is needed. Rows merge on (currency, rate_date), so the
history is kept and a refresh adds the new days. dbt crosses the rates through EUR into marts.fx_rates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from gtm.errors import GtmError
from gtm.settings import Settings
from gtm.warehouse import connect

ECB_BASE_URL = "https://www.ecb.europa.eu/stats/eurofxref"
HISTORY_FILE = "eurofxref-hist.zip"
TABLE = "reference_rates"


def base_url() -> str:
    """The configured ECB base URL (a proxy, a mirror or the sandbox), else the ECB's own."""
    # dlt is imported where it is used: `gtm build` reads fx_missing_warning and should not pay for dlt
    import dlt
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    try:
        configured = dlt.config.get("sources.ecb.base_url")
    except ConfigFieldMissingException:
        configured = None
    return str(configured or ECB_BASE_URL).rstrip("/")


def parse_eurofxref(text: str) -> Iterator[dict[str, Any]]:
    """The rows of an eurofxref CSV: {currency, rate_date, rate_per_eur}; N/A and empty cells skipped."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header[0].strip() != "Date":
        raise GtmError("the ECB file does not start with a Date column: not an eurofxref CSV")
    currencies = [cell.strip() for cell in header[1:]]
    for line_number, cells in enumerate(reader, start=2):
        if not cells or not cells[0].strip():
            continue
        try:
            day = date.fromisoformat(cells[0].strip())
        except ValueError as exc:
            raise GtmError(f"the ECB file has a bad date on line {line_number}: {cells[0]!r}") from exc
        for currency, cell in zip(currencies, cells[1:], strict=False):
            value = cell.strip()
            if not currency or not value or value == "N/A":
                continue
            try:
                rate = Decimal(value)
            except InvalidOperation as exc:
                raise GtmError(
                    f"the ECB file has a bad {currency} rate on line {line_number}: {value!r}"
                ) from exc
            yield {"currency": currency, "rate_date": day, "rate_per_eur": rate}


def download(url: str) -> str:
    """The CSV text inside the ECB's ZIP at `url` (dlt's requests client retries transient failures)."""
    from dlt.sources.helpers import requests

    try:
        response = requests.get(url, timeout=60)
        response.raise_for_status()
    except requests.HTTPError as exc:
        raise GtmError(
            f"the ECB rates could not be downloaded from {url}: HTTP {exc.response.status_code}"
        ) from exc
    except requests.RequestException as exc:
        raise GtmError(f"the ECB rates could not be downloaded from {url}: {type(exc).__name__}") from exc
    try:
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            names = [name for name in archive.namelist() if name.endswith(".csv")]
            if not names:
                raise GtmError(f"the ZIP at {url} holds no CSV file")
            return archive.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile as exc:
        raise GtmError(f"the answer of {url} is not a ZIP file") from exc


def refresh(settings: Settings) -> int:
    """Download the ECB's history and merge it into raw_ecb.reference_rates; returns the rows loaded."""
    import dlt

    from gtm.sync import pipeline_for

    url = f"{base_url()}/{HISTORY_FILE}"
    rows = list(parse_eurofxref(download(url)))
    if not rows:
        raise GtmError(f"the ECB file at {url} has no rates")
    resource = dlt.resource(
        rows,
        name=TABLE,
        primary_key=("currency", "rate_date"),
        write_disposition="merge",
        columns={
            "currency": {"data_type": "text", "nullable": False},
            "rate_date": {"data_type": "date", "nullable": False},
            "rate_per_eur": {"data_type": "decimal", "precision": 18, "scale": 8},
        },
    )
    pipeline_for("ecb", settings).run(resource)
    return len(rows)


def fx_missing_warning(settings: Settings) -> str | None:
    """One line naming the currencies whose amounts have no rate (marts.unconverted_amounts), else None."""
    with connect(settings, read_only=True) as warehouse:
        if not warehouse.table_exists("marts", "unconverted_amounts"):
            return None
        rows = warehouse.query(
            "select currency, amount, customers, native_amount from marts.unconverted_amounts"
            " order by currency, amount"
        )
    if not rows:
        return None
    parts = [
        f"{row['currency'].upper()} {row['amount']} of {row['customers']} customer(s)"
        f" ({row['currency'].upper()} {row['native_amount']:,.2f})"
        for row in rows
    ]
    currencies = ", ".join(sorted({row["currency"].upper() for row in rows}))
    return (
        f"warning: no exchange rate for {currencies}: {'; '.join(parts)} left out of every total; "
        "run `gtm fx refresh` or add rows to dbt_project/seeds/fx_rates_manual.csv"
    )
