"""What must hold before a build publishes marts and a history row: an as-of date that is not in the
future, and no source whose last sync stopped half-way (its raw tables may be partly loaded or empty)."""

from __future__ import annotations

from datetime import datetime, timezone

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


def check_publishable(settings: Settings) -> None:
    """Refuse to build (marts and history untouched) over a source whose last sync is incomplete."""
    check_as_of(settings)
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
