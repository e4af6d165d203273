"""HubSpot endpoints, page sizes, the properties each object loads and their column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.hubapi.com"
PAGE_SIZE = 200  # the largest page HubSpot's CRM search accepts
SEARCH_CAP = 10_000  # HubSpot's search answers at most this many results per query (after >= cap is a 400)
ASSOCIATION_BATCH = 1_000  # the most ids one v4 associations batch read accepts
OWNERS_PAGE_SIZE = 500  # the largest page of GET /crm/v3/owners
# HubSpot's search index trails writes by a few seconds. A sync reads up to `settle_seconds` before it
# started, so a record written in the meantime is read by the next sync instead of being skipped for good.
SETTLE_SECONDS = 60

SEARCH_PATH = "/crm/v3/objects/{object_type}/search"
ASSOCIATIONS_PATH = "/crm/v4/associations/{from_type}/{to_type}/batch/read"
OWNERS_PATH = "/crm/v3/owners"

# object type -> (the property the search filters and sorts on, properties loaded)
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "jobtitle",
    "lifecyclestage",
    "hubspot_owner_id",
    "company",
    "associatedcompanyid",
    "createdate",
    "lastmodifieddate",
    "hs_merged_object_ids",
    "hs_object_id",
)
COMPANY_PROPERTIES = (
    "name",
    "domain",
    "industry",
    "lifecyclestage",
    "numberofemployees",
    "hubspot_owner_id",
    "createdate",
    "hs_lastmodifieddate",
    "hs_merged_object_ids",
    "hs_object_id",
)
DEAL_PROPERTIES = (
    "dealname",
    "dealstage",
    "pipeline",
    "amount",
    "deal_currency_code",
    "closedate",
    "hubspot_owner_id",
    "hs_is_closed",
    "hs_is_closed_won",
    "createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
)
CURSOR_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
# Properties HubSpot sends as ISO 8601 strings, loaded as timestamps (one that does not parse: quarantine).
TIMESTAMP_PROPERTIES = ("createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate")


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


_OBJECT = {"id": "text", "created_at": "timestamp", "updated_at": "timestamp", "archived": "bool"}
CONTACT_COLUMNS = _cols(
    **_OBJECT,
    properties__email="text",
    properties__firstname="text",
    properties__lastname="text",
    properties__phone="text",
    properties__jobtitle="text",
    properties__lifecyclestage="text",
    properties__hubspot_owner_id="text",
    properties__company="text",
    properties__associatedcompanyid="text",
    properties__createdate="timestamp",
    properties__lastmodifieddate="timestamp",
    properties__hs_merged_object_ids="text",
    properties__hs_object_id="text",
)
CONTACT_NESTED_HINTS = {("merged_object_ids",): {"columns": _cols(value="text")}}
COMPANY_COLUMNS = _cols(
    **_OBJECT,
    properties__name="text",
    properties__domain="text",
    properties__industry="text",
    properties__lifecyclestage="text",
    properties__numberofemployees="text",
    properties__hubspot_owner_id="text",
    properties__createdate="timestamp",
    properties__hs_lastmodifieddate="timestamp",
    properties__hs_merged_object_ids="text",
    properties__hs_object_id="text",
)
DEAL_COLUMNS = _cols(
    **_OBJECT,
    properties__dealname="text",
    properties__dealstage="text",
    properties__pipeline="text",
    properties__amount="decimal",
    properties__deal_currency_code="text",
    properties__closedate="timestamp",
    properties__hubspot_owner_id="text",
    properties__hs_is_closed="text",
    properties__hs_is_closed_won="text",
    properties__createdate="timestamp",
    properties__hs_lastmodifieddate="timestamp",
    properties__hs_object_id="text",
)
DEAL_NESTED_HINTS = {("associations__contacts",): {"columns": _cols(id="text", type="text")}}
OWNER_COLUMNS = _cols(
    id="text",
    email="text",
    type="text",
    first_name="text",
    last_name="text",
    user_id="bigint",
    created_at="timestamp",
    updated_at="timestamp",
    archived="bool",
)
