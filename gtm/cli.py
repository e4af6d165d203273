"""The `gtm` command: sync sources, build the models, read the marts, serve the sandbox."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from datetime import date
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


def settings(as_of: str | None = None) -> Any:
    from gtm.settings import Settings

    if as_of:
        os.environ["GTM_AS_OF"] = as_of
    return Settings.from_env()


def money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.2f}"


def show_summary(data: dict[str, Any]) -> None:
    table = Table(title=f"Customer health on {data['as_of_date']}", show_header=True)
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
        ("recommended action", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        style = STATUS_STYLE.get(row["health_status"], "")
        table.add_row(
            str(row["risk_rank"]),
            f"{row['name'] or ''} <{row['email']}>",
            money(row["mrr"]),
            f"[{style}]{row['health_score']} {row['health_status']}[/]",
            f"{row['churn_risk']}%",
            row["risk_signals"] or "",
            row["recommended_action"] or "",
        )
    out.print(table if rows else "No customer is at risk.")


def show_customer(data: dict[str, Any]) -> None:
    table = Table(title=f"{data.get('name') or ''} <{data['email']}>", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        if key != "signals":
            table.add_row(key, "-" if value is None else str(value))
    out.print(table)
    for signal in data["signals"]:
        out.print(
            f"[bold]{signal['signal']}[/] ({signal['severity']}): {signal['detail']}"
            f" -> {signal['recommended_action']}"
        )


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

    dbt_build(settings(as_of))


@cli.command()
@as_of_option
@click.option("--full", is_flag=True, help="Full refresh of the sources before building.")
def run(as_of: str | None, full: bool) -> None:
    """What cron calls: sync, then build."""
    from gtm.build import build as dbt_build

    config = settings(as_of)
    do_sync(config, (), full)
    dbt_build(config)


@cli.command()
@json_option
def summary(as_json: bool) -> None:
    """Dashboard summary: customers, MRR, ARR and the health distribution."""
    from gtm import reports
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        data = reports.summary(warehouse)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        show_summary(data)


@cli.command("at-risk")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many to show.")
@json_option
def at_risk(limit: int, as_json: bool) -> None:
    """At-risk customers with their signals and recommended actions, highest MRR first."""
    from gtm import reports
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        rows = reports.at_risk(warehouse, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        show_at_risk(rows)


@cli.command()
@click.argument("email")
@json_option
def customer(email: str, as_json: bool) -> None:
    """Everything known about one customer (EMAIL: case and spaces do not matter)."""
    from gtm import reports
    from gtm.warehouse import connect

    with connect(settings(), read_only=True) as warehouse:
        data = reports.customer(warehouse, email)
    if data is None:
        raise GtmError(f"no customer with email {email.strip()!r}")
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        show_customer(data)


@cli.command()
@click.option("--customers", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@as_of_option
def demo(customers: int, seed: int, as_of: str | None) -> None:
    """Run everything against the local sandbox into the default DuckDB warehouse and show the results."""
    from gtm import reports
    from gtm.build import build as dbt_build
    from gtm.warehouse import connect
    from sandbox.server import start_in_thread

    os.environ["GTM_WAREHOUSE"] = "duckdb"
    config = settings(as_of)
    token = "sandbox-demo-token"
    server = start_in_thread(customers=customers, seed=seed, token=token, anchor=config.as_of)
    try:
        os.environ["SOURCES__INTERCOM__BASE_URL"] = f"{server.base_url}/intercom"
        os.environ["SOURCES__INTERCOM__ACCESS_TOKEN"] = token
        err.print(
            f"Sandbox with {customers:,} customers at {server.base_url}; warehouse {config.duckdb_path}"
        )
        do_sync(config, ("intercom",), full=True)
    finally:
        server.shutdown()
        server.server_close()
    dbt_build(config, quiet=True)
    err.print("dbt build passed (models, history, data tests, unit tests)")
    with connect(config, read_only=True) as warehouse:
        show_summary(reports.summary(warehouse))
        show_at_risk(reports.at_risk(warehouse, 10))


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
def sandbox_serve(host: str, port: int, customers: int, seed: int, token: str, anchor: str | None) -> None:
    """Serve every vendor API under http://HOST:PORT/<vendor> until Ctrl-C."""
    from sandbox.server import serve

    serve(
        host=host,
        port=port,
        customers=customers,
        seed=seed,
        token=token,
        anchor=date.fromisoformat(anchor) if anchor else None,
    )


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
