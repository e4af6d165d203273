"""The `gtm` command: sync sources, build the models, read the marts, serve the sandbox."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from gtm import __version__
from gtm.errors import GtmError, redact
from gtm.safe_text import terminal

F = TypeVar("F", bound=Callable[..., Any])
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

# Options shared by several commands, defined once.
as_of_option = click.option(
    "--as-of",
    envvar="GTM_AS_OF",
    metavar="YYYY-MM-DD",
    help="As-of date of every metric (default: today in UTC). Env: GTM_AS_OF.",
)
wait_option = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    metavar="SECONDS",
    help="When another sync or build holds the warehouse, wait this long for it before giving up.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
vars_option = click.option(
    "--vars",
    "dbt_vars",
    metavar="YAML",
    help="dbt vars overriding dbt_project.yml, as for dbt: --vars '{mrr_statuses: [active]}'.",
)
verbose_option = click.option(
    "--verbose", "-v", is_flag=True, help="Show dbt's output (its log is always in logs/dbt.log)."
)
am_option = click.option(
    "--am",
    envvar="GTM_AM",
    metavar="NAME",
    help="Only the customers of this account manager (name or email, any case). Env: GTM_AM.",
)


def settings(as_of: str | None = None) -> Any:
    from gtm.settings import Settings

    if as_of:
        os.environ["GTM_AS_OF"] = as_of
    return Settings.from_env()


def money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.2f}"


def table_width() -> int | None:
    """Tables fit 80 columns when the output is not a terminal (cron logs, pipes); a terminal's own width
    otherwise."""
    return None if out.is_terminal else 80


def show_summary(data: dict[str, Any]) -> None:
    owner = f" · {data['account_manager']}'s customers" if data.get("account_manager") else ""
    table = Table(title=f"Customer health on {data['as_of_date']}{owner}", show_header=True)
    table.add_column("status")
    table.add_column("customers", justify="right")
    table.add_column("MRR", justify="right")
    for status, cell in data["health_distribution"].items():
        table.add_row(status.replace("_", " "), f"{cell['count']:,}", money(cell["mrr"]))
    out.print(
        f"[bold]{data['total_customers']:,}[/] customers ({data['paying_customers']:,} paying) · "
        f"MRR [bold]{money(data['total_mrr'])}[/] · ARR {money(data['total_arr'])} · "
        f"average health {data['avg_health_score']}",
        width=table_width(),
    )
    if data.get("unconverted_mrr"):
        out.print(f"[yellow]MRR not in the totals (no exchange rate): {data['unconverted_mrr']}[/]")
    out.print(table, width=table_width())


STATUS_STYLE = {"healthy": "green", "at_risk": "yellow", "high_risk": "dark_orange", "critical": "red"}


def show_at_risk(rows: list[dict[str, Any]]) -> None:
    """Three columns that fit 80: the customer (email whole on its own line, then name and AM, signals and
    the recommended action, which wrap), and MRR with health and churn risk."""
    if not rows:
        out.print("No customer is at risk.")
        return
    table = Table(title="At-risk customers (highest MRR first)", box=box.SIMPLE_HEAD, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("customer · AM · signals · action", ratio=1, overflow="fold")
    table.add_column("MRR · health", no_wrap=True)
    for row in rows:
        style = STATUS_STYLE.get(row["health_status"], "")
        status = row["health_status"].replace("_", " ")
        customer = terminal(row["email"] or "", limit=None)
        mrr = (
            money(row["mrr"])
            if not row["is_fx_missing"]
            else f"{row['currency'].upper()} {row['mrr_native']:,.2f}"
        )
        table.add_row(
            str(row["risk_rank"]),
            f"[bold]{customer}[/]\n{terminal(row['name'] or '')} · "
            f"AM {terminal(row.get('assigned_am') or '-')}\n"
            f"[{style}]{terminal(row['risk_signals'] or '')}[/]\n"
            f"{terminal(row['recommended_action'] or '', limit=None)}",
            f"{mrr}\n[{style}]{row['health_score']} {status}[/]\nchurn {row['churn_risk']}%",
        )
    out.print(table, width=table_width())


def show_am_scorecard(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Account managers (calls: hosted in the last 90 days)")
    for column in (
        "account manager",
        "customers",
        "MRR",
        "avg health",
        "at risk",
        "MRR at risk",
        "calls held",
        "no-shows",
        "show rate",
        "no call 60d",
        "logins 30d avg",
        "usage down",
    ):
        table.add_column(column, justify="left" if column == "account manager" else "right")
    for row in rows:
        rate = row["call_show_rate"]
        table.add_row(
            terminal(row["am_name"]) + (" (left)" if row["am_has_left"] else ""),
            f"{row['customers']:,}",
            money(row["mrr"]),
            "-" if row["avg_health_score"] is None else f"{row['avg_health_score']:.1f}",
            f"{row['at_risk_customers']:,}",
            money(row["at_risk_mrr"]),
            f"{row['calls_held_90d']:,}",
            f"{row['call_no_shows_90d']:,}",
            "-" if rate is None else f"{float(rate):.0%}",
            f"{row['customers_without_call_60d']:,}",
            "-" if row["avg_logins_30d"] is None else f"{row['avg_logins_30d']:.1f}",
            f"{row['usage_declining_customers']:,}",
        )
    out.print(table if rows else "No account manager yet (HubSpot not synced).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gtm")
def cli() -> None:
    """GTM Intelligence: customer health and revenue intelligence in your warehouse.

    Typical use: `gtm run` from cron (sync, build, alerts), `gtm summary` and `gtm at-risk` to read the
    results, `gtm demo` to try everything against the local sandbox. Settings come from the environment
    (see .env.example): GTM_WAREHOUSE, GTM_DUCKDB_PATH, DATABASE_URL, SOURCES__<NAME>__ACCESS_TOKEN.
    """


def _print_sync(results: list[Any]) -> None:
    for result in results:
        if result.status == "success":
            tables = (
                ", ".join(f"{table} {rows:,}" for table, rows in sorted(result.tables.items()))
                or "nothing new"
            )
            err.print(
                f"{result.source}: loaded {result.rows_loaded:,} rows in {result.requests:,} requests, "
                f"{result.seconds:.1f}s ({tables})"
            )
        elif result.status == "skipped":
            err.print(f"{result.source}: skipped, {result.error}")
        elif sum(r.status == "failed" for r in results) > 1:
            err.print(f"[red]{result.error}[/]")


def do_sync(config: Any, sources: tuple[str, ...], full: bool) -> None:
    from gtm.sync import run_sync

    results = run_sync(config, sources, full=full, progress=True)
    _print_sync(results)
    failed = [r for r in results if r.status == "failed"]
    if len(failed) == 1:
        raise GtmError(failed[0].error or f"{failed[0].source}: sync failed")
    if failed:
        raise GtmError(f"sync failed for {', '.join(r.source for r in failed)} (see above)")
    if not any(r.status == "success" for r in results):
        raise GtmError("no source is configured: set SOURCES__INTERCOM__ACCESS_TOKEN (see .env.example)")


@cli.command()
@click.option(
    "--source", "sources", multiple=True, metavar="NAME", help="Sync only this source (repeatable)."
)
@click.option(
    "--full",
    is_flag=True,
    help="Full refresh: load everything into a new dataset, swapped for raw_<source> once complete.",
)
@wait_option
def sync(sources: tuple[str, ...], full: bool, wait: float) -> None:
    """Load the enabled sources into raw_<source> (incremental unless --full)."""
    from gtm.lock import run_lock

    config = settings()
    with run_lock(config, "sync", wait):
        do_sync(config, sources, full)


def do_build(config: Any, dbt_vars: str | None = None, verbose: bool = False) -> None:
    """Refuse to publish over an incomplete sync, dbt build in this process, then its short summary on
    stderr (the failing tests named) and the warning about currencies without a rate. The caller holds
    the run lock."""
    from gtm.build import BuildFailed, parse_vars
    from gtm.build import build as dbt_build
    from gtm.runs import blamed_on_readers, check_publishable

    check_publishable(config)
    try:
        with blamed_on_readers(config):
            summary = dbt_build(config, parse_vars(dbt_vars), verbose=verbose)
    except BuildFailed as exc:
        for line in exc.summary.lines():
            err.print(line, markup=False, highlight=False)
        raise
    for line in summary.lines():
        err.print(line, markup=False, highlight=False)
    warn_fx_missing(config)


def warn_fx_missing(config: Any) -> None:
    """The one-line warning naming the currencies left out of the totals (metrics.md, Currency)."""
    from gtm.fx import fx_missing_warning

    warning = fx_missing_warning(config)
    if warning:
        err.print(warning, markup=False, highlight=False)


@cli.command()
@as_of_option
@vars_option
@verbose_option
@wait_option
def build(as_of: str | None, dbt_vars: str | None, verbose: bool, wait: float) -> None:
    """dbt build: models, health history for the as-of date, and every data test.

    Prints a summary (models built, tests passed, warned and failed by name, seconds); dbt's log is in
    logs/dbt.log. dbt's unit tests run in `make test`, not here."""
    from gtm.lock import run_lock

    config = settings(as_of)
    with run_lock(config, "build", wait):
        do_build(config, dbt_vars, verbose)


@cli.group()
def fx() -> None:
    """Exchange rates into the reporting currency."""


@fx.command("refresh")
@wait_option
def fx_refresh(wait: float) -> None:
    """Load the ECB's daily euro reference rates (history kept) for the next build.

    Reads <base>/eurofxref-hist.zip; base = SOURCES__ECB__BASE_URL (default the ECB's public site)."""
    from gtm.fx import base_url, refresh
    from gtm.lock import run_lock

    config = settings()
    with run_lock(config, "fx refresh", wait):
        rows = refresh(config)
    err.print(f"fx: loaded {rows:,} ECB reference rates from {base_url()}")


@cli.command()
@as_of_option
@click.option("--full", is_flag=True, help="Full refresh of the sources before building.")
@vars_option
@verbose_option
@wait_option
def run(as_of: str | None, full: bool, dbt_vars: str | None, verbose: bool, wait: float) -> None:
    """What cron calls: sync, then build, then alerts.

    A failed source does not stop the rest: the build and the alerts still run (so the failed-sync alert
    goes out now), and gtm exits non-zero afterwards naming the source."""
    from alerts import run_alerts
    from gtm.lock import run_lock
    from gtm.runs import check_as_of

    config = settings(as_of)
    check_as_of(config)
    sync_error = None
    with run_lock(config, "run", wait):
        try:
            do_sync(config, (), full)
        except GtmError as exc:
            sync_error = exc
            err.print(f"gtm: {redact(str(exc))}; building and alerting on what is loaded", markup=False)
        do_build(config, dbt_vars, verbose)
        run_alerts(config)
    if sync_error is not None:
        raise sync_error


@cli.command()
@am_option
@json_option
def summary(am: str | None, as_json: bool) -> None:
    """Dashboard summary: customers, MRR, ARR, health distribution (one AM's customers with --am)."""
    from gtm import reports
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        data = reports.summary(warehouse, am=am)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        show_summary(data)


@cli.command("at-risk")
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=1_000_000),
    default=20,
    show_default=True,
    help="How many to show.",
)
@am_option
@json_option
def at_risk(limit: int, am: str | None, as_json: bool) -> None:
    """At-risk customers with their signals, AM and recommended actions, highest MRR first."""
    from gtm import reports
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        rows = reports.at_risk(warehouse, limit, am=am)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        show_at_risk(rows)


@cli.command("revenue")
@click.option("--months", type=click.IntRange(min=1), default=6, show_default=True, help="Months to show.")
@json_option
def revenue_command(months: int, as_json: bool) -> None:
    """Stripe revenue: the monthly MRR waterfall (new, expansion, reactivation, contraction, churn, fx),
    NRR / GRR and quick ratio (docs/revenue.md)."""
    from gtm.revenue import revenue, show_revenue
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        data = revenue(warehouse, months)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        show_revenue(data, out)


@cli.command()
@click.argument("email")
@json_option
def customer(email: str, as_json: bool) -> None:
    """The customer 360 view of one customer (EMAIL: case and spaces do not matter).

    Profile, health with each dimension's 7- and 30-day trend, engagement, support, usage, commercial,
    risk indicators, opportunities, up to five recommended actions with owner and due date, a narrative
    and the exit state (docs/customer-360.md). --json prints the 360 JSON shape.
    """
    from gtm.customer360 import customer_view, render
    from gtm.privacy import audit_cli
    from gtm.warehouse import connect

    try:
        email.encode("utf-8")
    except UnicodeEncodeError:
        raise GtmError("EMAIL is not valid UTF-8 text") from None
    config = settings()
    with connect(config, read_only=True) as warehouse:
        view = customer_view(warehouse, email)
    audit_cli(config, "gtm customer", [email.strip().lower()])
    if as_json:
        click.echo(json.dumps(view, indent=2))
    else:
        render(view, out)


@cli.command()
@click.option(
    "--from", "start", required=True, metavar="YYYY-MM-DD", help="First as-of date to build history for."
)
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Last as-of date (inclusive).")
@click.option(
    "--step",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Days between two dates (7: weekly snapshots for a long range).",
)
@as_of_option
@wait_option
def backfill(start: str, end: str, step: int, as_of: str | None, wait: float) -> None:
    """Build the health history for each date from --from to --to, from the data the warehouse holds.

    Each date is one build of the models behind marts.customer_health_history with that as-of date (a
    date already in the history is replaced, never duplicated). Then a full build for the as-of date
    (--as-of, default today) brings every mart, trends and reports up to date.
    """
    from gtm.build import build as dbt_build
    from gtm.lock import run_lock
    from gtm.runs import check_publishable
    from gtm.settings import parse_as_of

    first, last = parse_as_of(start), parse_as_of(end)
    config = settings(as_of)
    if first > last:
        raise GtmError(f"--from {first} is after --to {last}")
    if last > config.as_of:
        raise GtmError(f"--to {last} is after the as-of date {config.as_of}: history cannot be built ahead")
    days = [first + timedelta(days=offset) for offset in range(0, (last - first).days + 1, step)]
    with run_lock(config, "backfill", wait):
        check_publishable(config)
        for day in days:
            err.print(f"history for {day}")
            dbt_build(replace(config, as_of=day), select="+customer_health_history", keep_parsed=True)
        do_build(config)
    err.print(f"backfilled {len(days)} date(s); marts rebuilt for {config.as_of}")


@cli.group()
def history() -> None:
    """The daily health snapshots in marts.customer_health_history."""


@history.command("drop")
@click.option("--date", "day", required=True, metavar="YYYY-MM-DD", help="The as-of date to remove.")
@wait_option
def history_drop(day: str, wait: float) -> None:
    """Remove the snapshot of one date (e.g. from a build with a wrong --as-of); then run `gtm build`."""
    from gtm.lock import run_lock
    from gtm.runs import drop_history
    from gtm.settings import parse_as_of

    config, when = settings(), parse_as_of(day)
    with run_lock(config, "history-drop", wait):
        removed = drop_history(config, when)
    err.print(f"removed {removed:,} snapshot rows of {when}; run `gtm build` to refresh the marts")


@cli.command()
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@as_of_option
def demo(customers: int, seed: int, as_of: str | None) -> None:
    """Run everything against the local sandbox into the default DuckDB warehouse and show the results."""
    from alerts import run_alerts
    from gtm import reports
    from gtm.customer360 import show_customer_360
    from gtm.fx import refresh
    from gtm.lock import run_lock
    from gtm.revenue import revenue, show_revenue
    from gtm.warehouse import connect
    from sandbox.product_db import sqlite_url
    from sandbox.server import start_in_thread

    os.environ["GTM_WAREHOUSE"] = "duckdb"
    config = settings(as_of)
    token = "sandbox-demo-token"
    # a high rate limit: Calendly's one request per event's invitees should not wait on the sandbox's window
    server = start_in_thread(
        customers=customers,
        seed=seed,
        token=token,
        anchor=config.as_of,
        rate_limit=1_000_000,
        fathom_rate_limit=1_000_000,
    )
    try:
        for name, url in server.vendor_urls().items():
            os.environ[f"SOURCES__{name.upper()}__BASE_URL"] = url
            os.environ[f"SOURCES__{name.upper()}__ACCESS_TOKEN"] = token
        os.environ["SOURCES__HUBSPOT__SETTLE_SECONDS"] = "0"  # the sandbox's data is settled
        # every generated call, whatever the sandbox's anchor (the loader's window follows the real clock)
        os.environ["SOURCES__CALENDLY__INITIAL_DAYS"] = str(
            max(400, (date.today() - config.as_of).days + 400)
        )
        err.print(
            f"Sandbox with {customers:,} customers at {server.base_url}; warehouse {config.duckdb_path}"
        )
        product_db = config.duckdb_path.parent / "product.sqlite"
        product_db.parent.mkdir(parents=True, exist_ok=True)
        server.product_db.write(sqlite_url(str(product_db)))
        os.environ["SOURCES__ADMIN__CREDENTIALS"] = sqlite_url(str(product_db))
        apis = tuple(name for name in server.vendor_urls() if name != "ecb")
        with run_lock(config, "demo"):
            do_sync(config, (*apis, "admin"), full=True)
            refresh(config)
            do_build(config)
    finally:
        server.shutdown()
        server.server_close()
    with connect(config, read_only=True) as warehouse:
        show_summary(reports.summary(warehouse))
        show_at_risk(reports.at_risk(warehouse, 10))
        show_am_scorecard(reports.am_scorecard(warehouse))
        show_revenue(revenue(warehouse, 6), out)
    err.print("Alerts it would send (dry run):")
    run_alerts(config, dry_run=True)
    with connect(config, read_only=True) as warehouse:
        top = reports.at_risk(warehouse, 1)
        if top:
            err.print(f"Customer 360 of the top at-risk customer ({top[0]['email']}):")
            show_customer_360(warehouse, top[0]["email"], out)
    from gtm.web_cli import write_report

    page = write_report(config, Path("data/dashboard.html"))
    err.print(
        f"Dashboard: open file://{page} in a browser (it works offline). For the live dashboard and the API:"
        " GTM_API_KEYS=me:<secret> gtm serve, then http://127.0.0.1:8000/ (docs/api.md)."
    )


@cli.group()
def sandbox() -> None:
    """The local stand-in for the vendor APIs."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8765, show_default=True)
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--token", default="sandbox", show_default=True, help="Access token the sandbox accepts.")
@click.option("--anchor", metavar="YYYY-MM-DD", help="The sandbox's 'today' (default: today in UTC).")
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Requests per vendor per 10 s before the sandbox answers 429.",
)
@click.option(
    "--fathom-rate-limit",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Fathom's requests per minute (Fathom's own limit is 60).",
)
def sandbox_serve(
    host: str,
    port: int,
    customers: int,
    seed: int,
    token: str,
    anchor: str | None,
    rate_limit: int,
    fathom_rate_limit: int,
) -> None:
    """Serve every vendor API under http://HOST:PORT/<vendor> until Ctrl-C."""
    from gtm.settings import parse_as_of
    from sandbox.server import serve

    try:
        serve(
            host=host,
            port=port,
            customers=customers,
            seed=seed,
            token=token,
            anchor=parse_as_of(anchor) if anchor else None,
            rate_limit=rate_limit,
            fathom_rate_limit=fathom_rate_limit,
        )
    except OSError as exc:  # a busy port, an address not on this machine
        raise GtmError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


@sandbox.command("product-db")
@click.option("--out", "out", metavar="FILE", help="Write a SQLite file (replaced if it exists).")
@click.option("--url", metavar="URL", help="Write into this SQLAlchemy URL instead, e.g. postgresql://...")
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--anchor", metavar="YYYY-MM-DD", help="The sandbox's 'today' (default: today in UTC).")
def sandbox_product_db(
    out: str | None, url: str | None, customers: int, seed: int, anchor: str | None
) -> None:
    """Write the sandbox company's product database (accounts, users, logins, credits, exports, seats)."""
    from sandbox.company import Company
    from sandbox.crm import CRM
    from sandbox.product_db import ProductDB, sqlite_url

    if bool(out) == bool(url):
        raise click.UsageError("give exactly one of --out FILE or --url URL")
    company = Company(seed=seed, customers=customers, anchor=date.fromisoformat(anchor) if anchor else None)
    counts = ProductDB(CRM(company)).write(url or sqlite_url(out or ""))
    err.print(", ".join(f"{table}: {rows:,}" for table, rows in counts.items()))
    err.print(f"set SOURCES__ADMIN__CREDENTIALS={redact(url or sqlite_url(out or ''))}")


def _register_commands() -> None:
    from alerts.cli import alerts_command
    from gtm.web_cli import audit, forget, report, serve

    for command in (alerts_command, serve, report, audit, forget):
        cli.add_command(command)


_register_commands()


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except GtmError as exc:
        err.print(f"gtm: error: {redact(str(exc))}", markup=False, highlight=False)
        sys.exit(1)
    except click.exceptions.Abort:
        err.print("gtm: aborted")
        sys.exit(130)
    except click.UsageError as exc:  # one line, like every other error; --help shows the usage
        command = exc.ctx.command_path if exc.ctx else "gtm"
        err.print(f"{command}: error: {exc.format_message()}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - unexpected: one redacted line, traceback only on request
        if os.environ.get("GTM_DEBUG"):
            err.print(redact(traceback.format_exc()), markup=False, highlight=False)
        first = (str(exc).strip().splitlines() or [""])[0]
        err.print(
            f"gtm: unexpected error: {type(exc).__name__}: {redact(first)} (GTM_DEBUG=1 shows details)",
            markup=False,
            highlight=False,
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
