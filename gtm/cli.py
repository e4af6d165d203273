"""The `gtm` command: sync sources, build the models, read the marts, serve the sandbox."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from gtm import __version__
from gtm.errors import GtmError, redact

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
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
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
        f"average health {data['avg_health_score']}"
    )
    if data.get("unconverted_mrr"):
        out.print(f"[yellow]MRR not in the totals (no exchange rate): {data['unconverted_mrr']}[/]")
    out.print(table)


STATUS_STYLE = {"healthy": "green", "at_risk": "yellow", "high_risk": "dark_orange", "critical": "red"}


def show_at_risk(rows: list[dict[str, Any]]) -> None:
    table = Table(title="At-risk customers (highest MRR first)")
    for column, justify in (
        ("#", "right"),
        ("customer", "left"),
        ("MRR", "right"),
        ("health", "right"),
        ("churn risk", "right"),
        ("signals", "left"),
        ("AM", "left"),
        ("recommended action", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        style = STATUS_STYLE.get(row["health_status"], "")
        table.add_row(
            str(row["risk_rank"]),
            f"{row['name'] or ''} <{row['email']}>",
            money(row["mrr"])
            if not row["is_fx_missing"]
            else f"{row['currency'].upper()} {row['mrr_native']:,.2f}",
            f"[{style}]{row['health_score']} {row['health_status']}[/]",
            f"{row['churn_risk']}%",
            row["risk_signals"] or "",
            row.get("assigned_am") or "-",
            row["recommended_action"] or "",
        )
    out.print(table if rows else "No customer is at risk.")


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
    ):
        table.add_column(column, justify="left" if column == "account manager" else "right")
    for row in rows:
        rate = row["call_show_rate"]
        table.add_row(
            row["am_name"] + (" (left)" if row["am_has_left"] else ""),
            f"{row['customers']:,}",
            money(row["mrr"]),
            "-" if row["avg_health_score"] is None else f"{row['avg_health_score']:.1f}",
            f"{row['at_risk_customers']:,}",
            money(row["at_risk_mrr"]),
            f"{row['calls_held_90d']:,}",
            f"{row['call_no_shows_90d']:,}",
            "-" if rate is None else f"{float(rate):.0%}",
            f"{row['customers_without_call_60d']:,}",
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
    "--full", is_flag=True, help="Full refresh: drop the source's raw tables and state, load everything."
)
def sync(sources: tuple[str, ...], full: bool) -> None:
    """Load the enabled sources into raw_<source> (incremental unless --full)."""
    do_sync(settings(), sources, full)


@cli.command()
@as_of_option
def build(as_of: str | None) -> None:
    """dbt build: models, health history for the as-of date, and every data test."""
    from gtm.build import build as dbt_build

    config = settings(as_of)
    dbt_build(config)
    warn_fx_missing(config)


def warn_fx_missing(config: Any) -> None:
    """The one-line warning naming the currencies left out of the totals (metrics.md, Currency)."""
    from gtm.fx import fx_missing_warning

    warning = fx_missing_warning(config)
    if warning:
        err.print(warning, markup=False, highlight=False)


@cli.group()
def fx() -> None:
    """Exchange rates into the reporting currency."""


@fx.command("refresh")
def fx_refresh() -> None:
    """Load the ECB's daily euro reference rates (history kept) for the next build.

    Reads <base>/eurofxref-hist.zip; base = SOURCES__ECB__BASE_URL (default the ECB's public site)."""
    from gtm.fx import base_url, refresh

    rows = refresh(settings())
    err.print(f"fx: loaded {rows:,} ECB reference rates from {base_url()}")


@cli.command()
@as_of_option
@click.option("--full", is_flag=True, help="Full refresh of the sources before building.")
def run(as_of: str | None, full: bool) -> None:
    """What cron calls: sync, then build, then alerts.

    A failed source does not stop the rest: the build and the alerts still run (so the failed-sync alert
    goes out now), and gtm exits non-zero afterwards naming the source."""
    from alerts import run_alerts
    from gtm.build import build as dbt_build

    config = settings(as_of)
    sync_error = None
    try:
        do_sync(config, (), full)
    except GtmError as exc:
        sync_error = exc
        err.print(f"gtm: {redact(str(exc))}; building and alerting on what is loaded", markup=False)
    dbt_build(config)
    warn_fx_missing(config)
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
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many to show.")
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
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        view = customer_view(warehouse, email)
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
def backfill(start: str, end: str, step: int, as_of: str | None) -> None:
    """Build the health history for each date from --from to --to, from the data the warehouse holds.

    Each date is one build of the models behind marts.customer_health_history with that as-of date (a
    date already in the history is replaced, never duplicated). Then a full build for the as-of date
    (--as-of, default today) brings every mart, trends and reports up to date.
    """
    from gtm.build import build as dbt_build
    from gtm.settings import parse_as_of

    first, last = parse_as_of(start), parse_as_of(end)
    config = settings(as_of)
    if first > last:
        raise GtmError(f"--from {first} is after --to {last}")
    if last > config.as_of:
        raise GtmError(f"--to {last} is after the as-of date {config.as_of}: history cannot be built ahead")
    days = [first + timedelta(days=offset) for offset in range(0, (last - first).days + 1, step)]
    for day in days:
        err.print(f"history for {day}")
        dbt_build(replace(config, as_of=day), quiet=True, select="+customer_health_history")
    dbt_build(config, quiet=True)
    err.print(f"backfilled {len(days)} date(s); marts rebuilt for {config.as_of}")


@cli.command()
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@as_of_option
def demo(customers: int, seed: int, as_of: str | None) -> None:
    """Run everything against the local sandbox into the default DuckDB warehouse and show the results."""
    from alerts import run_alerts
    from gtm import reports
    from gtm.build import build as dbt_build
    from gtm.customer360 import show_customer_360
    from gtm.revenue import revenue, show_revenue
    from gtm.warehouse import connect
    from sandbox.server import start_in_thread

    os.environ["GTM_WAREHOUSE"] = "duckdb"
    config = settings(as_of)
    token = "sandbox-demo-token"
    # a high rate limit: Calendly's one request per event's invitees should not wait on the sandbox's window
    server = start_in_thread(
        customers=customers, seed=seed, token=token, anchor=config.as_of, rate_limit=1_000_000
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
        do_sync(config, tuple(name for name in server.vendor_urls() if name != "ecb"), full=True)
        from gtm.fx import refresh

        refresh(config)
    finally:
        server.shutdown()
        server.server_close()
    dbt_build(config, quiet=True)
    err.print("dbt build passed (models, history, data tests, unit tests)")
    warn_fx_missing(config)
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


@cli.group()
def sandbox() -> None:
    """The local stand-in for the vendor APIs."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
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
def sandbox_serve(
    host: str, port: int, customers: int, seed: int, token: str, anchor: str | None, rate_limit: int
) -> None:
    """Serve every vendor API under http://HOST:PORT/<vendor> until Ctrl-C."""
    from sandbox.server import serve

    serve(
        host=host,
        port=port,
        customers=customers,
        seed=seed,
        token=token,
        anchor=date.fromisoformat(anchor) if anchor else None,
        rate_limit=rate_limit,
    )


def _register_alerts() -> None:
    from alerts.cli import alerts_command

    cli.add_command(alerts_command)


_register_alerts()


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except GtmError as exc:
        err.print(f"gtm: error: {redact(str(exc))}", markup=False, highlight=False)
        sys.exit(1)
    except click.exceptions.Abort:
        err.print("gtm: aborted")
        sys.exit(130)
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
