"""What must hold before a build publishes marts and a history row: an as-of date that is not in the
future, and no source whose last sync stopped half-way (its raw tables may be partly loaded or empty)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any

from gtm.errors import GtmError
from gtm.settings import Settings
from gtm.warehouse import connect

INCOMPLETE_SQL = """
with ranked as (
    select
        source,
        status,
        full_refresh,
        started_at,
        row_number() over (partition by source order by started_at desc, finished_at desc) as attempt
    from ops.sync_log
)
select source, status, full_refresh, started_at
from ranked
where attempt = 1 and (status = 'running' or (status = 'failed' and full_refresh))
order by source
"""


def check_as_of(settings: Settings) -> None:
    """A build for a date after today (UTC) would publish a future that has not happened: refused."""
    today = datetime.now(timezone.utc).date()
    if settings.as_of > today:
        raise GtmError(f"as-of date {settings.as_of} is after today ({today} UTC); builds cannot look ahead")


def incomplete_sources(settings: Settings) -> list[dict[str, object]]:
    """Sources whose latest sync did not complete: killed (still ``running``) or a failed full refresh."""
    with connect(settings) as warehouse:
        if not warehouse.table_exists("ops", "sync_log"):
            return []
        return warehouse.query(INCOMPLETE_SQL)


HOLDERS_SQL = """
select distinct
    namespace.nspname as schema_name,
    class.relname as table_name,
    activity.usename as user_name,
    activity.pid,
    activity.state,
    activity.xact_start
from pg_locks as locks
inner join pg_class as class on locks.relation = class.oid
inner join pg_namespace as namespace on class.relnamespace = namespace.oid
inner join pg_stat_activity as activity on locks.pid = activity.pid
where
    locks.granted
    and locks.pid <> pg_backend_pid()
    and namespace.nspname = 'marts'
    and class.relkind in ('r', 'p', 'v', 'm')  -- the mart itself, not its indexes (their names are hashes)
order by activity.xact_start, class.relname
"""


def mart_lock_holders(settings: Settings) -> list[dict[str, Any]]:
    """PostgreSQL sessions other than ours holding a lock on a table of schema marts."""
    with connect(settings) as warehouse:
        return warehouse.query(HOLDERS_SQL)


@contextmanager
def blamed_on_readers(settings: Settings) -> Iterator[None]:
    """A build that fails while another session holds a mart (it waited GTM_LOCK_TIMEOUT for it) fails
    with one line naming that session instead of dbt's generic failure."""
    try:
        yield
    except GtmError:
        if settings.warehouse != "postgres":
            raise
        holders = mart_lock_holders(settings)
        if not holders:
            raise
        first = holders[0]
        raise GtmError(
            f"dbt build failed: {first['user_name']} (pid {first['pid']}) holds "
            f"{first['schema_name']}.{first['table_name']}, so the build could not replace it within "
            f"GTM_LOCK_TIMEOUT; end it (select pg_terminate_backend({first['pid']})) and build again"
        ) from None


def check_readers(settings: Settings) -> None:
    """PostgreSQL: a reader whose transaction sits idle holding a mart would block the build until its
    lock timeout; say who it is, in one line, before starting."""
    if settings.warehouse != "postgres":
        return
    blocking = [
        holder
        for holder in mart_lock_holders(settings)
        if (holder["state"] or "").startswith("idle in transaction")
    ]
    if blocking:
        first = blocking[0]
        raise GtmError(
            f"not building: {first['user_name']} (pid {first['pid']}) holds "
            f"{first['schema_name']}.{first['table_name']} in a transaction left open since "
            f"{first['xact_start']:%Y-%m-%d %H:%M:%S}; the build could not replace it. End that session "
            f"(select pg_terminate_backend({first['pid']})) or wait for its idle timeout"
        )


def check_publishable(settings: Settings) -> None:
    """Refuse to build (marts and history untouched) over a source whose last sync is incomplete, for a
    future date, or while a reader's idle transaction holds a mart."""
    check_as_of(settings)
    check_readers(settings)
    incomplete = incomplete_sources(settings)
    if not incomplete:
        return
    first = incomplete[0]
    kind = "full refresh" if first["full_refresh"] else "sync"
    others = f" (and {', '.join(str(r['source']) for r in incomplete[1:])})" if len(incomplete) > 1 else ""
    again = " --full" if first["full_refresh"] else ""
    raise GtmError(
        f"not building: the last {kind} of {first['source']}{others} started {first['started_at']} did not "
        f"complete, so its raw data may be partial; run `gtm sync --source {first['source']}{again}` first"
    )


def drop_history(settings: Settings, day: date) -> int:
    """Delete the health snapshot of one date (a build for a wrong --as-of); the number of rows removed."""
    with connect(settings) as warehouse:
        if not warehouse.table_exists("marts", "customer_health_history"):
            return 0
        where = "from marts.customer_health_history where as_of_date = %s"
        rows = int(warehouse.query(f"select count(*) as n {where}", (day,))[0]["n"])
        warehouse.execute(f"delete {where}", (day,))
    return rows
