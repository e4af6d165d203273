"""`gtm serve`, `gtm report`, `gtm audit`, `gtm forget`: the API and dashboard, the access audit, erasure."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from gtm.errors import GtmError


def _settings() -> Any:
    from gtm.settings import Settings

    return Settings.from_env()


def write_report(settings: Any, out: Path) -> Path:
    """The dashboard as one self-contained HTML file (plotly inlined: opens offline); audited."""
    from gtm.dashboard import customers_shown, dashboard_data, inline_plotly, render
    from gtm.privacy import audit_cli
    from gtm.warehouse import connect

    with connect(settings, read_only=True) as warehouse:
        data = dashboard_data(warehouse)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data, inline_plotly()), encoding="utf-8")
    audit_cli(settings, "gtm report", customers_shown(data))
    return out.absolute()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """The read-only HTTP API and the dashboard (http://HOST:PORT/, reference at /docs).

    Keys from GTM_API_KEYS (name:key or name:key:read,sync pairs, or file:PATH of hashes; docs/api.md).
    Every request that returns customer data is written to ops.access_log.
    """
    import uvicorn

    from gtm.api import create_app

    app = create_app(_settings())
    click.echo(
        f"GTM Intelligence API on http://{host}:{port}/ (dashboard), http://{host}:{port}/docs", err=True
    )
    # uvicorn's access log would print customers' emails (in paths); ops.access_log is the audit trail
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/dashboard.html"),
    show_default=True,
    help="HTML file to write.",
)
def report(out: Path) -> None:
    """The dashboard as one self-contained HTML file (opens offline, no CDN), for e-mail or Slack."""
    path = write_report(_settings(), out)
    click.echo(f"wrote {path} (open it in a browser: file://{path})")


@click.command()
@click.option(
    "--email", metavar="EMAIL", help="Only the accesses to this person's data (also once forgotten)."
)
@click.option("--since", metavar="YYYY-MM-DD", help="Only accesses on or after this day (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def audit(email: str | None, since: str | None, as_json: bool) -> None:
    """Who saw which customer's data: ops.access_log, newest first."""
    import json

    from rich.console import Console
    from rich.table import Table

    from gtm.privacy import access_rows
    from gtm.reports import jsonable
    from gtm.warehouse import connect

    day = None
    if since:
        try:
            day = date.fromisoformat(since.strip())
        except ValueError:
            raise GtmError(f"--since {since!r} is not a date like 2026-01-31") from None
    with connect(_settings(), read_only=True) as warehouse:
        rows = access_rows(warehouse, email, day)
    if as_json:
        click.echo(json.dumps(jsonable(rows), indent=2))
        return
    table = Table(title="Access log (newest first)")
    for column in ("at (UTC)", "who", "endpoint", "email_key", "status"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["at"]), row["who"], row["endpoint"], row["email_key"] or "-", str(row["status"])
        )
    Console().print(table if rows else "No access recorded.")


@click.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--undo", is_flag=True, help="Re-consent: stop dropping this person from later syncs.")
def forget(email: str, yes: bool, undo: bool) -> None:
    """GDPR erasure of one person (EMAIL, any case) everywhere in the warehouse, and kept out of later syncs.

    Deletes the person's rows from every raw table (child tables included), the health history, quarantine,
    redacts their alert history, records sha256 of the email in ops.forgotten, writes an audit row and
    rebuilds. --undo removes the hash again: their records load when they next change at the source, or at
    once with `gtm sync --full`.
    """
    from gtm.build import build
    from gtm.lock import run_lock
    from gtm.privacy import email_key, os_user, unforget
    from gtm.privacy import forget as erase
    from gtm.warehouse import connect

    settings = _settings()
    key = email_key(email)
    if undo:
        with run_lock(settings, "forget --undo"), connect(settings) as warehouse:
            present = unforget(warehouse, key, os_user())
        click.echo(
            ("re-consent recorded" if present else "the person was not forgotten")
            + "; their records load again when they next change at the source, or now with"
            " `gtm sync --full` and `gtm build`"
        )
        return
    if not yes:
        click.confirm(f"Erase {key} from the warehouse ({settings.warehouse}) for good?", abort=True)
    with run_lock(settings, "forget"):
        with connect(settings) as warehouse:
            erasure = erase(warehouse, key, os_user())
        build(settings)
    click.echo(f"{erasure.line()}; rebuilt")
