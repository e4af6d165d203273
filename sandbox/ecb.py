"""The European Central Bank's euro foreign exchange reference rates, in the ECB's own download format.

`GET /ecb/eurofxref-hist.zip` answers what https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip
does: a ZIP holding `eurofxref-hist.csv`, one line per TARGET business day, newest first, units of each
currency per one euro, `N/A` where a currency was not quoted, and the ECB's trailing comma on every line.
The rates are a deterministic random walk (seeded) over the company's history, up to the anchor date. The
ECB's files are public: no auth, no rate-limit headers.
"""

from __future__ import annotations

import datetime
import io
import random
import zipfile

from sandbox.api import Request, Response
from sandbox.company import Company

# Column order of the real file (a subset), the rate each walk starts from, and a currency that stopped
# being quoted (HRK: Croatia joined the euro on 2023-01-01, so the ECB writes N/A after that).
CURRENCIES: tuple[tuple[str, float], ...] = (
    ("USD", 1.08),
    ("JPY", 158.0),
    ("CZK", 25.0),
    ("DKK", 7.46),
    ("GBP", 0.86),
    ("HUF", 390.0),
    ("PLN", 4.4),
    ("SEK", 11.3),
    ("CHF", 0.95),
    ("NOK", 11.5),
    ("AUD", 1.65),
    ("CAD", 1.47),
    ("HRK", 7.53),
)
LAST_HRK_DAY = datetime.date(2022, 12, 30)
HISTORY_YEARS = 7
FILE_NAME = "eurofxref-hist.csv"


def business_days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Weekdays from first to last (the ECB publishes on TARGET days; weekends are never among them)."""
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def reference_rates(seed: int, last: datetime.date) -> list[tuple[datetime.date, dict[str, float | None]]]:
    """(day, {currency: rate per euro or None}) oldest first, for HISTORY_YEARS years up to `last`."""
    rng = random.Random(seed * 7919 + 17)
    first = last - datetime.timedelta(days=365 * HISTORY_YEARS)
    levels = {code: start for code, start in CURRENCIES}
    rows = []
    for day in business_days(first, last):
        quoted: dict[str, float | None] = {}
        for code, _ in CURRENCIES:
            levels[code] *= 1 + rng.uniform(-0.004, 0.004)
            quoted[code] = None if code == "HRK" and day > LAST_HRK_DAY else levels[code]
        rows.append((day, quoted))
    return rows


def _decimal(value: float) -> str:
    """Rates as the ECB writes them: 4 decimals, or 2 for currencies quoted above 100."""
    return f"{value:.2f}" if value >= 100 else f"{value:.4f}"


def eurofxref_csv(seed: int, last: datetime.date) -> str:
    """The CSV text of eurofxref-hist.csv: header `Date,USD,...,` then one line per day, newest first."""
    lines = ["Date," + ",".join(code for code, _ in CURRENCIES) + ","]
    for day, quoted in reversed(reference_rates(seed, last)):
        cells = ["N/A" if rate is None else _decimal(rate) for rate in quoted.values()]
        lines.append(f"{day.isoformat()}," + ",".join(cells) + ",")
    return "\n".join(lines) + "\n"


class EcbAPI:
    """The ECB's static download under `/ecb`."""

    name = "ecb"
    stats_keys = ("ecb_files_returned",)

    def __init__(self, company: Company, seed: int) -> None:
        self.company = company
        self.seed = seed

    def handle(self, request: Request) -> Response:
        """`GET /ecb/eurofxref-hist.zip`: the whole history as a ZIP."""
        if request.method != "GET" or request.path.rstrip("/") != "/eurofxref-hist.zip":
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(FILE_NAME, eurofxref_csv(self.seed, self.company.anchor))
        return Response(
            200, buffer.getvalue(), {"Content-Type": "application/zip"}, records={"ecb_files_returned": 1}
        )

    def control(self, request: Request) -> Response:
        """No control routes."""
        return Response(404, {"error": f"no control route {request.path}"})

    def fault(self, status: int, retry_after: int) -> Response:
        """A plain-text error, as the ECB's web server answers."""
        headers = {"Content-Type": "text/plain"}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return Response(status, f"error {status}".encode(), headers)
