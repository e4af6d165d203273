"""Intercom endpoints, page sizes and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.intercom.io"
API_VERSION = "2.11"
PER_PAGE = 150  # the largest page Intercom's search endpoints accept
# Intercom's search compares timestamps by calendar day, so an incremental query asks again from one day
# before the last cursor value and relies on merge-by-id to drop what it already has.
OVERLAP_SECONDS = 86_400
CANCEL_WINDOW_DAYS = 30

CONTACT_TIMESTAMPS = ("created_at", "updated_at", "signed_up_at", "last_seen_at")
CONVERSATION_TIMESTAMPS = ("created_at", "updated_at")
STRIPE_LISTS = ("Stripe Subscriptions", "Stripe Payments")


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


# Every column staging reads: a field that is null in every record would otherwise make no column at all.
CONTACT_COLUMNS = _cols(
    id="text",
    type="text",
    external_id="text",
    role="text",
    email="text",
    name="text",
    created_at="bigint",
    updated_at="bigint",
    signed_up_at="bigint",
    last_seen_at="bigint",
    location__country="text",
    location__city="text",
    custom_attributes__stripe_id="text",
    custom_attributes__stripe_plan="text",
    custom_attributes__stripe_plan_price="bigint",
    custom_attributes__stripe_subscription_status="text",
    custom_attributes__stripe_delinquent="bool",
    custom_attributes__stripe_last_charge_amount="bigint",
    custom_attributes__stripe_last_charge_at="bigint",
)
CONTACT_NESTED_HINTS = {
    ("custom_attributes__stripe_subscriptions",): {
        "columns": _cols(
            id="text",
            status="text",
            quantity="bigint",
            plan__id="text",
            plan__amount="bigint",
            plan__interval="text",
            plan__interval_count="bigint",
            plan__nickname="text",
            plan__currency="text",
            current_period_start="bigint",
            current_period_end="bigint",
            created="bigint",
        )
    },
    ("custom_attributes__stripe_payments",): {
        "columns": _cols(
            id="text",
            amount="bigint",
            amount_refunded="bigint",
            currency="text",
            created="bigint",
            status="text",
        )
    },
}
CONVERSATION_COLUMNS = _cols(
    id="text",
    created_at="bigint",
    updated_at="bigint",
    state="text",
    open="bool",
    priority="text",
    title="text",
    source__body="text",
    source__subject="text",
    source__author__type="text",
    source__author__id="text",
    source__author__email="text",
    conversation_rating__rating="bigint",
)
CONVERSATION_NESTED_HINTS = {
    ("contacts__contacts",): {"columns": _cols(id="text", type="text", external_id="text")},
}
CONVERSATION_PART_COLUMNS = _cols(
    conversation_id="text",
    id="text",
    part_type="text",
    body="text",
    created_at="bigint",
    author__type="text",
    author__id="text",
)
