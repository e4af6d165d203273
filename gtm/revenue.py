"""`gtm revenue`: the monthly MRR waterfall, NRR / GRR and quick ratio, read from the revenue marts
(docs/revenue.md). Reads and renders only: every definition lives in the dbt models."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from gtm.errors import GtmError
from gtm.reports import jsonable
from gtm.warehouse import Warehouse

WATERFALL = (
    ("starting_mrr", "start"),
    ("new_business_mrr", "new"),
    ("expansion_mrr", "expansion"),
    ("reactivation_mrr", "reactivation"),
    ("contraction_mrr", "contraction"),
    ("churn_mrr", "churn"),
    ("fx_mrr", "fx"),
    ("ending_mrr", "end"),
)


def revenue(warehouse: Warehouse, months: int = 6) -> dict[str, Any]:
    """The last `months` months of marts.revenue_monthly (oldest first) with each month's NRR / GRR / logo
    retention, and the trailing-twelve-month retention at T."""
    if not warehouse.table_exists("marts", "revenue_monthly"):
        raise GtmError("marts.revenue_monthly does not exist yet: run `gtm build` (or `make demo`) first")
    rows = warehouse.query("select * from marts.revenue_monthly order by month_start desc")[:months]
    retention = {
        (row["period_type"], row["period_end"]): row
        for row in warehouse.query("select * from marts.revenue_retention")
    }
    monthly = []
    for row in reversed(rows):
        kept = retention.get(("monthly", row["month_end"]), {})
        monthly.append({**row, **{name: kept.get(name) for name in ("nrr", "grr", "logo_retention")}})
    ttm = next((row for (kind, _), row in retention.items() if kind == "ttm"), None)
    return jsonable({"months": monthly, "trailing_twelve_months": ttm})


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def _share(value: Any) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


def show_revenue(data: dict[str, Any], console: Console) -> None:
    """The waterfall (one column per month), retention and quick ratio as terminal tables."""
    months = data["months"]
    if not months:
        console.print(
            "No Stripe revenue yet: connect Stripe (SOURCES__STRIPE__ACCESS_TOKEN) and run `gtm run`."
        )
        return
    table = Table(title="MRR waterfall (reporting currency)")
    table.add_column("")
    for month in months:
        table.add_column(month["month_start"][:7], justify="right")
    for column, label in WATERFALL:
        table.add_row(label, *(_money(month[column]) for month in months))
    table.add_row("NRR", *(_share(month["nrr"]) for month in months))
    table.add_row("GRR", *(_share(month["grr"]) for month in months))
    table.add_row(
        "quick ratio", *("-" if m["quick_ratio"] is None else f"{m['quick_ratio']:.2f}" for m in months)
    )
    table.add_row("paying customers", *(str(month["paying_customers_end"]) for month in months))
    console.print(table)
    ttm = data["trailing_twelve_months"]
    if ttm:
        console.print(
            f"Trailing twelve months to {ttm['period_end']}: NRR {_share(ttm['nrr'])},"
            f" GRR {_share(ttm['grr'])}, logo retention {_share(ttm['logo_retention'])}"
        )
    unconverted = months[-1].get("unconverted_ending_mrr")
    if unconverted:
        console.print(f"Not converted (no fx rate): {unconverted}")
