"""The dashboard page (seed 000): read from the marts, drawn with plotly. `gtm serve` answers it at `/`
(plotly's JS served by the app) and `gtm report` writes it as one self-contained HTML file (plotly inlined).

Every number comes from a mart; a section whose mart is not built yet (the revenue marts of phase 4) says
"not connected" instead of failing, and fills in once the mart exists.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from typing import Any

from gtm import reports
from gtm.warehouse import Warehouse

STATUS_COLORS = {"healthy": "#2e7d32", "at_risk": "#f9a825", "high_risk": "#ef6c00", "critical": "#c62828"}
AT_RISK_ROWS = 25
KPIS = (
    ("total_customers", "Customers", "count"),
    ("total_mrr", "MRR", "money"),
    ("total_arr", "ARR", "money"),
    ("avg_health_score", "Average health", "number"),
    ("at_risk_count", "At risk", "count"),
    ("critical_count", "Critical", "count"),
)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _not_connected(mart: str) -> dict[str, Any]:
    return {"connected": False, "note": f"not connected: marts.{mart} is not built yet"}


def _has_rows(warehouse: Warehouse, mart: str) -> bool:
    """The revenue marts exist once built, and hold rows once Stripe is synced."""
    return warehouse.table_exists("marts", mart) and bool(
        warehouse.query(f"select 1 as one from marts.{mart} limit 1")
    )


def _mrr_trend(warehouse: Warehouse) -> dict[str, Any]:
    """Month-end MRR from the Stripe timeline; without Stripe, total MRR of the weekly health snapshots."""
    if _has_rows(warehouse, "revenue_monthly"):
        rows = warehouse.query(
            "select month_end as x, ending_mrr as y from marts.revenue_monthly order by month_end"
        )
        return {"connected": True, "source": "marts.revenue_monthly", "rows": rows}
    if not warehouse.table_exists("marts", "report_weekly_health_summary"):
        return _not_connected("revenue_monthly")
    rows = warehouse.query(
        "select week_start_date as x, total_mrr as y from marts.report_weekly_health_summary"
        " order by week_start_date"
    )
    return {
        "connected": True,
        "source": "marts.report_weekly_health_summary (health snapshots)",
        "rows": rows,
    }


# revenue_monthly's movement columns, in waterfall order
MOVEMENTS = (
    ("new", "new_business_mrr"),
    ("reactivation", "reactivation_mrr"),
    ("expansion", "expansion_mrr"),
    ("contraction", "contraction_mrr"),
    ("churn", "churn_mrr"),
    ("fx", "fx_mrr"),
)


def _waterfall(warehouse: Warehouse) -> dict[str, Any]:
    """Starting MRR, each movement, ending MRR of the latest month (Stripe), else of the latest snapshots."""
    if _has_rows(warehouse, "revenue_monthly"):
        row = warehouse.query("select * from marts.revenue_monthly order by month_start desc limit 1")[0]
        steps = [(label, row[column]) for label, column in MOVEMENTS]
        return _steps(
            "marts.revenue_monthly", row["month_start"], row["starting_mrr"], steps, row["ending_mrr"]
        )
    if not warehouse.table_exists("marts", "report_trending_metrics"):
        return _not_connected("revenue_monthly")
    rows = warehouse.query("select * from marts.report_trending_metrics order by as_of_date desc limit 1")
    if not rows or rows[0]["previous_total_mrr"] is None:
        return {"connected": False, "note": "not connected: no earlier health snapshot to compare with yet"}
    row = rows[0]
    steps = [
        ("new", row["new_mrr"]),
        ("expansion", row["expansion_mrr"]),
        ("contraction", -abs(row["contraction_mrr"] or 0)),
        ("churn", -abs(row["churned_mrr"] or 0)),
    ]
    return _steps(
        "marts.report_trending_metrics", row["as_of_date"], row["previous_total_mrr"], steps, row["total_mrr"]
    )


def _steps(source: str, period: Any, start: Any, steps: list[tuple[str, Any]], end: Any) -> dict[str, Any]:
    return {
        "connected": True,
        "source": source,
        "period": period,
        "labels": ["start", *[label for label, _ in steps], "end"],
        "values": [_number(start), *[_number(value) or 0.0 for _, value in steps], _number(end)],
    }


def _retention(warehouse: Warehouse) -> dict[str, Any]:
    """Monthly NRR and GRR from the Stripe timeline."""
    if not _has_rows(warehouse, "revenue_retention"):
        note = "not connected: NRR and GRR need Stripe (marts.revenue_retention)"
        return {"connected": False, "note": note}
    rows = warehouse.query(
        "select period_end as x, nrr, grr from marts.revenue_retention"
        " where period_type = 'monthly' order by period_end"
    )
    return {"connected": True, "source": "marts.revenue_retention", "series": ["nrr", "grr"], "rows": rows}


def _cohorts(warehouse: Warehouse) -> dict[str, Any]:
    """MRR retained per monthly cohort, as a share of month 0."""
    if not _has_rows(warehouse, "revenue_cohorts"):
        return {"connected": False, "note": "not connected: cohorts need Stripe (marts.revenue_cohorts)"}
    rows = warehouse.query(
        "select cohort_month as cohort, month_number as k, mrr_share as v from marts.revenue_cohorts"
        " order by cohort_month, month_number"
    )
    return {"connected": True, "source": "marts.revenue_cohorts", "value": "mrr_share", "rows": rows}


def _freshness(warehouse: Warehouse) -> dict[str, Any]:
    if not warehouse.table_exists("ops", "sync_log"):
        return {"connected": False, "note": "not connected: no sync has run yet (ops.sync_log)"}
    rows = warehouse.query(
        "select source, max(case when status = 'success' then finished_at end) as last_success_at,"
        " max(finished_at) as last_run_at, count(*) as runs from ops.sync_log group by source order by source"
    )
    return {"connected": True, "source": "ops.sync_log", "rows": rows}


def _at_risk(warehouse: Warehouse) -> list[dict[str, Any]]:
    return reports.at_risk(warehouse, AT_RISK_ROWS)


def dashboard_data(warehouse: Warehouse) -> dict[str, Any]:
    """Every section of the dashboard, read from the marts."""
    summary = reports.summary(warehouse)
    plans = warehouse.query(
        "select plan_name, customers, mrr from marts.mrr_by_plan order by mrr desc, plan_name"
    )
    scorecard = reports.am_scorecard(warehouse) if warehouse.table_exists("marts", "am_scorecard") else None
    return reports.jsonable(
        {
            "currency": reports.reporting_currency(),
            "summary": summary,
            "mrr_by_plan": plans,
            "mrr_trend": _mrr_trend(warehouse),
            "waterfall": _waterfall(warehouse),
            "retention": _retention(warehouse),
            "cohorts": _cohorts(warehouse),
            "at_risk": _at_risk(warehouse),
            "unconverted_mrr": reports.unconverted_mrr(warehouse),
            "am_scorecard": scorecard,
            "freshness": _freshness(warehouse),
        }
    )


# --- rendering: pure functions of dashboard_data ----------------------------------------------------------


def _figure(figure: Any, div_id: str) -> str:
    figure.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320, template="plotly_white")
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displayModeBar": False, "responsive": True},
    )


def _charts(data: dict[str, Any]) -> dict[str, str]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    currency = data["currency"]
    charts: dict[str, str] = {}
    distribution = data["summary"]["health_distribution"]
    statuses = list(distribution)
    health = make_subplots(specs=[[{"secondary_y": True}]])
    health.add_trace(
        go.Bar(
            x=statuses,
            y=[distribution[s]["count"] for s in statuses],
            name="customers",
            marker_color=[STATUS_COLORS.get(s, "#888") for s in statuses],
        ),
        secondary_y=False,
    )
    health.add_trace(
        go.Scatter(x=statuses, y=[distribution[s]["mrr"] for s in statuses], name=f"MRR ({currency})"),
        secondary_y=True,
    )
    health.update_layout(title="Health distribution: customers and MRR")
    charts["health"] = _figure(health, "chart-health")
    plans = data["mrr_by_plan"]
    stages = data["summary"].get("customers_by_stage") or {}
    if stages:
        charts["stages"] = _figure(
            go.Figure(go.Bar(x=list(stages), y=list(stages.values()), name="customers")).update_layout(
                title="Customers by stage (every customer)"
            ),
            "chart-stages",
        )
    charts["plans"] = _figure(
        go.Figure(
            go.Bar(x=[p["plan_name"] or "(no plan)" for p in plans], y=[p["mrr"] for p in plans], name="MRR")
        ).update_layout(title=f"MRR by plan ({currency})"),
        "chart-plans",
    )
    trend = data["mrr_trend"]
    if trend["connected"]:
        rows = trend["rows"]
        charts["trend"] = _figure(
            go.Figure(
                go.Scatter(x=[r["x"] for r in rows], y=[r["y"] for r in rows], mode="lines+markers")
            ).update_layout(xaxis_type="category", title=f"MRR trend ({currency}; {trend['source']})"),
            "chart-trend",
        )
    waterfall = data["waterfall"]
    if waterfall["connected"]:
        measures = ["absolute", *["relative"] * (len(waterfall["labels"]) - 2), "total"]
        charts["waterfall"] = _figure(
            go.Figure(
                go.Waterfall(x=waterfall["labels"], y=waterfall["values"], measure=measures)
            ).update_layout(
                title=f"MRR movements to {waterfall['period']} ({currency}; {waterfall['source']})"
            ),
            "chart-waterfall",
        )
    retention = data["retention"]
    if retention["connected"]:
        figure = go.Figure()
        for series in retention["series"]:
            figure.add_trace(
                go.Scatter(
                    x=[r["x"] for r in retention["rows"]],
                    y=[r[series] for r in retention["rows"]],
                    name=series,
                )
            )
        charts["retention"] = _figure(figure.update_layout(title="NRR / GRR"), "chart-retention")
    cohorts = data["cohorts"]
    if cohorts["connected"]:
        keys = sorted({r["cohort"] for r in cohorts["rows"]})
        offsets = sorted({r["k"] for r in cohorts["rows"]})
        cells = {(r["cohort"], r["k"]): r["v"] for r in cohorts["rows"]}
        z = [[cells.get((key, k)) for k in offsets] for key in keys]
        charts["cohorts"] = _figure(
            go.Figure(go.Heatmap(x=offsets, y=keys, z=z, colorscale="Blues")).update_layout(
                title=f"Cohorts ({cohorts['value']} by months since start)"
            ),
            "chart-cohorts",
        )
    return charts


def _money(value: Any, currency: str) -> str:
    return "-" if value is None else f"{float(value):,.2f} {currency}"


def _table(headers: list[str], rows: list[list[Any]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(title: str, body: str, section_id: str) -> str:
    return f'<section id="{section_id}"><h2>{html.escape(title)}</h2>{body}</section>'


def _note(section: dict[str, Any]) -> str:
    return f'<p class="not-connected">{html.escape(section["note"])}</p>'


def _kpis(data: dict[str, Any]) -> str:
    summary, currency = data["summary"], data["currency"]
    cells = []
    for key, label, kind in KPIS:
        value = summary[key]
        if kind == "money":
            shown = _money(value, currency)
        elif kind == "count":
            shown = f"{value:,}"
        else:
            shown = "-" if value is None else f"{value:g}"
        cells.append(
            f'<div class="kpi"><div class="label">{label}</div>'
            f'<div class="value" data-kpi="{key}" data-value="{html.escape(json.dumps(value))}">'
            f"{shown}</div></div>"
        )
    unconverted = "; ".join(f"{amount:,.2f} {code}" for code, amount in data["unconverted_mrr"].items())
    note = (
        f'<p class="not-connected" id="unconverted">MRR without an exchange rate, not in the totals: '
        f"{html.escape(unconverted)}</p>"
        if unconverted
        else ""
    )
    return '<div class="kpis">' + "".join(cells) + "</div>" + note


CSS = (files("gtm") / "templates" / "dashboard.css").read_text(encoding="utf-8")


def render(data: dict[str, Any], plotly_script: str) -> str:
    """The dashboard page; `plotly_script` is a <script> tag, inline (report) or served by the app."""
    currency = data["currency"]
    charts = _charts(data)
    summary = data["summary"]

    def chart_or_note(key: str, section: dict[str, Any] | None = None) -> str:
        return charts[key] if key in charts else _note(section or {"note": "not connected"})

    at_risk = _table(
        [
            "#",
            "customer",
            "email",
            f"MRR ({currency})",
            "health",
            "status",
            "signals",
            "recommended action",
            "action owner",
            "due",
            "AM",
        ],
        [
            [
                row["risk_rank"],
                row["name"],
                row["email"],
                _money(row["mrr"], currency),
                row["health_score"],
                row["health_status"],
                row["risk_signals"],
                row["recommended_action"],
                row.get("action_owner_name") or row.get("action_owner"),
                row.get("action_due_date"),
                row["assigned_am"],
            ]
            for row in data["at_risk"]
        ],
        "at-risk-table",
    )
    scorecard = data["am_scorecard"]
    scorecard_html = (
        _table(
            [
                "account manager",
                "customers",
                f"MRR ({currency})",
                "avg health",
                "at risk",
                f"MRR at risk ({currency})",
                "calls held 90d",
            ],
            [
                [
                    row["am_name"] + (" (left)" if row["am_has_left"] else ""),
                    row["customers"],
                    _money(row["mrr"], currency),
                    row["avg_health_score"],
                    row["at_risk_customers"],
                    _money(row["at_risk_mrr"], currency),
                    row.get("calls_held_90d"),
                ]
                for row in scorecard
            ],
            "am-scorecard-table",
        )
        if scorecard
        else _note({"note": "not connected: no account manager yet (HubSpot not synced)"})
    )
    freshness = data["freshness"]
    freshness_html = (
        _table(
            ["source", "last successful sync (UTC)", "last run (UTC)", "runs"],
            [
                [r["source"], r["last_success_at"] or "never", r["last_run_at"], r["runs"]]
                for r in freshness["rows"]
            ],
            "freshness-table",
        )
        if freshness["connected"]
        else _note(freshness)
    )
    body = "".join(
        [
            _kpis(data),
            '<div class="grid">',
            _section("Health distribution", charts["health"], "health"),
            _section("MRR by plan", charts["plans"], "plans"),
            _section("Customers by stage", chart_or_note("stages"), "stages"),
            _section("MRR trend", chart_or_note("trend", data["mrr_trend"]), "trend"),
            _section("MRR movements", chart_or_note("waterfall", data["waterfall"]), "waterfall"),
            _section("NRR / GRR", chart_or_note("retention", data["retention"]), "retention"),
            _section("Cohorts", chart_or_note("cohorts", data["cohorts"]), "cohorts"),
            "</div>",
            _section(f"At-risk customers (top {AT_RISK_ROWS} by MRR)", at_risk, "at-risk"),
            _section("Account managers", scorecard_html, "am-scorecard"),
            _section("Data freshness per source", freshness_html, "freshness"),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>GTM Intelligence · {html.escape(str(summary['as_of_date']))}</title><style>{CSS}</style>"
        f"{plotly_script}</head><body><header><h1>GTM Intelligence</h1><p>Customer health and revenue as of "
        f"{html.escape(str(summary['as_of_date']))} · amounts in {currency} · every number from the marts</p>"
        f"</header><main>{body}</main></body></html>"
    )


def inline_plotly() -> str:
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def customers_shown(data: dict[str, Any]) -> list[str]:
    """The emails of the customers the page shows (for the access log)."""
    return [row["email_key"] for row in data["at_risk"]]
