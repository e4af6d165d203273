"""ChartMogul endpoints, page size, the activity re-read window and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.chartmogul.com"
PER_PAGE = 200  # the largest per_page ChartMogul's list endpoints accept
CUSTOMERS_PATH = "/v1/customers"
ACTIVITIES_PATH = "/v1/activities"
# ChartMogul recomputes recent activities when late billing data arrives; each sync re-reads those dated
# within this many days before the newest one it has (they merge on uuid).
RESTATEMENT_DAYS = 35


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


CUSTOMER_COLUMNS = _cols(
    uuid="text",
    external_id="text",
    email="text",
    name="text",
    status="text",
    mrr="bigint",
    currency="text",
)
ACTIVITY_COLUMNS = _cols(
    uuid="text",
    date="text",
    type="text",
    currency="text",
    customer_uuid="text",
    customer_external_id="text",
    activity_mrr_movement="bigint",
    activity_mrr="bigint",
)
