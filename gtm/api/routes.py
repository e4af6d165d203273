"""The endpoints of docs/api.md. Every answer is read from the marts; amounts carry the currency."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gtm import reports
from gtm.api import pages
from gtm.api.auth import COOKIE, ApiKey, authenticate
from gtm.api.errors import ApiError
from gtm.warehouse import Warehouse
from loaders import SOURCES

MAX_LIMIT = 500
REPORTS = ("weekly_health_summary", "monthly_mrr", "quarterly_churn_risk", "trending_metrics")
REVENUE = {"monthly": "revenue_monthly", "retention": "revenue_retention", "cohorts": "revenue_cohorts"}

router = APIRouter()


def key_with(scope: str) -> Callable[[Request], ApiKey]:
    def dependency(request: Request) -> ApiKey:
        return authenticate(request.app.state.keys, request, scope)

    return dependency


Reader = Annotated[ApiKey, Depends(key_with("read"))]
Syncer = Annotated[ApiKey, Depends(key_with("sync"))]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT}).")]
Email = Annotated[str, Path(description="The customer's email; case and surrounding spaces do not matter.")]


def _mart(warehouse: Warehouse, table: str) -> None:
    if not warehouse.table_exists("marts", table):
        raise ApiError(404, "not_connected", f"marts.{table} is not built yet (run `gtm build`)")


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(422, "invalid_request", "cursor: not a cursor this API returned") from None


def _rows(warehouse: Warehouse, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [reports.jsonable(row) for row in warehouse.query(sql, params)]


def _audited(request: Request, key: ApiKey, email_keys: list[str | None], status: int = 200) -> None:
    route = request.scope.get("route")  # the template (/customers/by-email/{email}): no email in it
    endpoint = f"{request.method} {getattr(route, 'path', request.url.path)}"
    request.app.state.access.audit(key.name, endpoint, email_keys, status)


@router.get("/health", tags=["service"], summary="Liveness and the warehouse's last build time (no auth)")
def health(request: Request) -> dict[str, Any]:
    access = request.app.state.access
    answer: dict[str, Any] = {"status": "ok", "warehouse": access.settings.warehouse}
    try:
        with access.reader() as warehouse:
            answer["last_build_at"] = reports.last_build_at(warehouse)
            answer["as_of_date"] = reports.jsonable(
                warehouse.query("select as_of_date from marts.dashboard_summary")[0]["as_of_date"]
                if warehouse.table_exists("marts", "dashboard_summary")
                else None
            )
    except ApiError as exc:
        answer.update(warehouse_status="busy" if exc.status == 503 else "unavailable", detail=exc.message)
    return answer


@router.get("/dashboard/summary", tags=["dashboard"], summary="Seed 001's dashboard summary")
def dashboard_summary(request: Request, key: Reader) -> dict[str, Any]:
    with request.app.state.access.reader() as warehouse:
        summary = reports.summary(warehouse)
        unconverted = reports.unconverted_mrr(warehouse)
    return {"currency": reports.reporting_currency(), **summary, "unconverted_mrr_by_currency": unconverted}


@router.get("/customers", tags=["customers"], summary="Unified customers, filtered and paged by email")
def customers(
    request: Request,
    key: Reader,
    min_mrr: Annotated[float | None, Query(description="Only customers with MRR at least this.")] = None,
    health_status: Annotated[
        str | None, Query(description="healthy, at_risk, high_risk or critical.")
    ] = None,
    assigned_am: Annotated[
        str | None, Query(description="Account manager's name or email, any case.")
    ] = None,
    stage: Annotated[str | None, Query(description="paying, trialing, churned or lead.")] = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(description="The `next` of the previous page.")] = None,
) -> dict[str, Any]:
    where, params = [], []
    if min_mrr is not None:
        where.append("mrr >= %s")
        params.append(min_mrr)
    if health_status is not None:
        if health_status not in reports.STATUSES:
            raise ApiError(422, "invalid_request", f"health_status: one of {', '.join(reports.STATUSES)}")
        where.append("health_status = %s")
        params.append(health_status)
    if stage is not None:
        if stage not in reports.STAGES:
            raise ApiError(422, "invalid_request", f"stage: one of {', '.join(reports.STAGES)}")
        where.append("customer_stage = %s")
        params.append(stage)
    if assigned_am is not None:
        where.append("(lower(assigned_am) = %s or lower(assigned_am_email) = %s)")
        params.extend([assigned_am.strip().lower()] * 2)
    if cursor is not None:
        where.append("email_key > %s")
        params.append(_decode(cursor))
    with request.app.state.access.reader() as warehouse:
        _mart(warehouse, "unified_customers")
        clause = f" where {' and '.join(where)}" if where else ""
        rows = _rows(
            warehouse,
            f"select * from marts.unified_customers{clause} order by email_key limit %s",
            [*params, limit + 1],
        )
    page = rows[:limit]
    _audited(request, key, [row["email_key"] for row in page])
    return {
        "currency": reports.reporting_currency(),
        "count": len(page),
        "customers": page,
        "next": _encode(page[-1]["email_key"]) if len(rows) > limit else None,
    }


@router.get("/customers/at-risk", tags=["customers"], summary="At-risk customers with the top action")
def at_risk(request: Request, key: Reader, limit: Limit = 100, cursor: str | None = None) -> dict[str, Any]:
    after = 0
    if cursor is not None:
        decoded = _decode(cursor)
        if not decoded.isdigit():
            raise ApiError(422, "invalid_request", "cursor: not a cursor this API returned")
        after = int(decoded)
    with request.app.state.access.reader() as warehouse:
        rows = reports.at_risk_page(warehouse, after, limit + 1)
    page = rows[:limit]
    _audited(request, key, [row["email_key"] for row in page])
    return {
        "currency": reports.reporting_currency(),
        "count": len(page),
        "customers": page,
        "next": _encode(page[-1]["risk_rank"]) if len(rows) > limit else None,
    }


def _one_customer(request: Request, key: ApiKey, email: str, read: Callable[[Warehouse, str], Any]) -> Any:
    email_key = email.strip().lower()
    with request.app.state.access.reader() as warehouse:
        _mart(warehouse, "unified_customers")
        found = read(warehouse, email_key)
    _audited(request, key, [email_key], 200 if found is not None else 404)
    if found is None:
        raise ApiError(404, "not_found", f"no customer with email {email.strip()!r}")
    return found


@router.get("/customers/by-email/{email}", tags=["customers"], summary="One unified customer row")
def by_email(request: Request, key: Reader, email: Email) -> dict[str, Any]:
    def read(warehouse: Warehouse, email_key: str) -> Any:
        rows = _rows(warehouse, "select * from marts.unified_customers where email_key = %s", (email_key,))
        return rows[0] if rows else None

    return {"currency": reports.reporting_currency(), "customer": _one_customer(request, key, email, read)}


@router.get(
    "/customers/by-email/{email}/360",
    tags=["customers"],
    summary="The customer 360 view (gtm customer --json)",
)
def customer_360(request: Request, key: Reader, email: Email) -> dict[str, Any]:
    from gtm.customer360 import build_view, load_facts

    def read(warehouse: Warehouse, email_key: str) -> Any:
        facts = load_facts(warehouse, email_key)
        return None if facts is None else build_view(facts)

    return _one_customer(request, key, email, read)


@router.get("/revenue/movements", tags=["revenue"], summary="marts.revenue_movements between two dates")
def revenue_movements(
    request: Request,
    key: Reader,
    start: Annotated[date | None, Query(alias="from", description="First date (inclusive).")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last date (inclusive).")] = None,
) -> dict[str, Any]:
    with request.app.state.access.reader() as warehouse:
        _mart(warehouse, "revenue_movements")
        column = reports.date_column(warehouse, "revenue_movements")
        where, params = [], []
        if start is not None:
            where.append(f"{column} >= %s")
            params.append(start)
        if end is not None:
            where.append(f"{column} <= %s")
            params.append(end)
        clause = f" where {' and '.join(where)}" if where else ""
        rows = _rows(warehouse, f"select * from marts.revenue_movements{clause} order by {column}", params)
    _audited(request, key, sorted({row.get("email_key") for row in rows if row.get("email_key")}))
    return {"currency": reports.reporting_currency(), "rows": rows}


@router.get(
    "/revenue/{name}", tags=["revenue"], summary="marts.revenue_monthly, revenue_retention or revenue_cohorts"
)
def revenue(request: Request, key: Reader, name: str) -> dict[str, Any]:
    if name not in REVENUE:
        raise ApiError(
            404, "not_found", f"unknown revenue view {name!r}; known: movements, {', '.join(REVENUE)}"
        )
    with request.app.state.access.reader() as warehouse:
        _mart(warehouse, REVENUE[name])
        rows = _rows(warehouse, f"select * from marts.{REVENUE[name]} order by 1")
    return {"currency": reports.reporting_currency(), "rows": rows}


@router.get("/reports/{name}", tags=["reports"], summary="A report mart (marts.report_<name>)")
def report(request: Request, key: Reader, name: str) -> dict[str, Any]:
    if name not in REPORTS:
        raise ApiError(404, "not_found", f"unknown report {name!r}; known: {', '.join(REPORTS)}")
    with request.app.state.access.reader() as warehouse:
        _mart(warehouse, f"report_{name}")
        rows = _rows(warehouse, f"select * from marts.report_{name} order by 1, 2")
    return {"currency": reports.reporting_currency(), "report": name, "rows": rows}


@router.post(
    "/sync/{source}", status_code=202, tags=["sync"], summary="Start a sync + build job (scope sync)"
)
def start_sync(request: Request, key: Syncer, source: str) -> dict[str, Any]:
    if source != "all" and source not in SOURCES:
        raise ApiError(404, "not_found", f"unknown source {source!r}; known: all, {', '.join(SOURCES)}")
    job = request.app.state.jobs.start([] if source == "all" else [source], key.name)
    return {"job": job}


@router.get("/sync/status", tags=["sync"], summary="Recent runs from ops.sync_log and the job in progress")
def sync_status(request: Request, key: Reader) -> dict[str, Any]:
    status = request.app.state.jobs.status()
    runs: list[dict[str, Any]] = []
    try:
        with request.app.state.access.reader() as warehouse:
            if warehouse.table_exists("ops", "sync_log"):
                runs = _rows(
                    warehouse,
                    "select run_id, source, started_at, finished_at, status, full_refresh, rows_loaded,"
                    " requests, error_message from ops.sync_log order by finished_at desc, source limit 50",
                )
    except ApiError as exc:
        if exc.status != 503 or status["job"] is None:
            raise
    return {**status, "recent_runs": runs}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request) -> Response:
    from gtm.dashboard import customers_shown, dashboard_data, render

    try:
        key = authenticate(request.app.state.keys, request, "read")
    except ApiError as exc:
        if exc.status == 401:
            return HTMLResponse(pages.login_page(exc.message), status_code=401)
        raise
    with request.app.state.access.reader() as warehouse:
        data = dashboard_data(warehouse)
    _audited(request, key, customers_shown(data))
    return HTMLResponse(render(data, '<script src="/static/plotly.min.js"></script>'))


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """The dashboard's sign-in form: keeps the key in an HttpOnly cookie of this site."""
    from urllib.parse import parse_qs

    form = parse_qs((await request.body()).decode(errors="replace"))
    api_key = (form.get("key") or [""])[0].strip()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, api_key, httponly=True, samesite="strict")
    return response


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js(request: Request) -> Response:
    return Response(
        request.app.state.plotly_js,
        media_type="application/javascript",
        headers={"Cache-Control": "max-age=86400"},
    )


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs_page() -> HTMLResponse:
    return HTMLResponse(pages.DOCS_PAGE)
