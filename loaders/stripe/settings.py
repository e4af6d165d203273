"""Stripe endpoints, the pinned API version, page size, the events window and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.stripe.com"
# The field layout staging reads (current_period_*, invoice.subscription, line prices) is 2024-06-20's;
# later versions moved them. Every request pins it.
API_VERSION = "2024-06-20"
PAGE_SIZE = 100  # the largest `limit` Stripe's list endpoints accept
# Reads by id in flight at once (Stripe allows 100 read requests a second in live mode, 25 in test mode).
CONCURRENCY = 4
# Stripe lists events of the last 30 days only; a cursor older than this (less a margin for a slow sync)
# means changes may have been missed, so the sync re-lists everything.
EVENTS_DAYS = 30
EVENTS_MARGIN_SECONDS = 3600

# resource -> list path; every one merges on id. Subscriptions list with status=all (the default hides
# canceled ones).
LIST_PATHS = {
    "customers": "/v1/customers",
    "subscriptions": "/v1/subscriptions",
    "prices": "/v1/prices",
    "coupons": "/v1/coupons",
    "invoices": "/v1/invoices",
    "charges": "/v1/charges",
    "refunds": "/v1/refunds",
}
LIST_PARAMS = {"subscriptions": {"status": "all"}}
# resources re-listed in full on every sync (small catalogs without events of their own here)
ALWAYS_LISTED = ("prices", "coupons")
# event object type -> resource re-read by id when an event names it
EVENT_OBJECTS = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "charge": "charges",
}
EVENTS_PATH = "/v1/events"
# Subscription changes inside the current period show on no invoice yet; Stripe's events of this type
# (the subscription as it was after each change) date them while Stripe keeps them.
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
INVOICE_LINES_PATH = "/v1/invoices/{id}/lines"


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


# Columns staging reads that can be null in every record of a load (dlt makes no column for them then).
COLUMNS = {
    "customers": _cols(
        id="text", email="text", name="text", currency="text", delinquent="bool", created="bigint"
    ),
    "subscriptions": _cols(
        id="text",
        customer="text",
        status="text",
        currency="text",
        created="bigint",
        start_date="bigint",
        trial_start="bigint",
        trial_end="bigint",
        canceled_at="bigint",
        cancel_at="bigint",
        cancel_at_period_end="bool",
        ended_at="bigint",
        current_period_start="bigint",
        current_period_end="bigint",
        discount__id="text",
        discount__start="bigint",
        discount__end="bigint",
        discount__coupon__id="text",
        discount__coupon__percent_off="double",
        discount__coupon__amount_off="bigint",
        discount__coupon__currency="text",
        discount__coupon__duration="text",
        discount__coupon__duration_in_months="bigint",
    ),
    "prices": _cols(
        id="text",
        currency="text",
        unit_amount="bigint",
        type="text",
        nickname="text",
        recurring__interval="text",
        recurring__interval_count="bigint",
        recurring__usage_type="text",
        created="bigint",
    ),
    "coupons": _cols(
        id="text",
        percent_off="double",
        amount_off="bigint",
        currency="text",
        duration="text",
        duration_in_months="bigint",
        created="bigint",
    ),
    "invoices": _cols(
        id="text",
        customer="text",
        subscription="text",
        status="text",
        currency="text",
        created="bigint",
        period_start="bigint",
        period_end="bigint",
        subtotal="bigint",
        tax="bigint",
        total="bigint",
        amount_paid="bigint",
        amount_remaining="bigint",
        attempt_count="bigint",
        billing_reason="text",
        status_transitions__finalized_at="bigint",
        status_transitions__paid_at="bigint",
        status_transitions__marked_uncollectible_at="bigint",
        status_transitions__voided_at="bigint",
    ),
    "charges": _cols(
        id="text",
        customer="text",
        invoice="text",
        status="text",
        currency="text",
        amount="bigint",
        amount_refunded="bigint",
        created="bigint",
        failure_code="text",
    ),
    "refunds": _cols(
        id="text", charge="text", status="text", currency="text", amount="bigint", created="bigint"
    ),
}
COLUMNS["subscription_events"] = _cols(
    id="text", type="text", created="bigint", data__object__id="text", data__object__status="text"
)
NESTED_HINTS = {
    "subscription_events": {
        ("data__object__items__data",): {
            "columns": _cols(
                id="text",
                quantity="bigint",
                price__id="text",
                price__unit_amount="bigint",
                price__currency="text",
                price__recurring__interval="text",
                price__recurring__interval_count="bigint",
                price__recurring__usage_type="text",
            )
        }
    },
    "subscriptions": {
        ("items__data",): {
            "columns": _cols(
                id="text",
                quantity="bigint",
                created="bigint",
                price__id="text",
                price__unit_amount="bigint",
                price__currency="text",
                price__type="text",
                price__recurring__interval="text",
                price__recurring__interval_count="bigint",
                price__recurring__usage_type="text",
            )
        }
    },
    "invoices": {
        ("lines__data",): {
            "columns": _cols(
                id="text",
                type="text",
                amount="bigint",
                currency="text",
                quantity="bigint",
                proration="bool",
                subscription="text",
                subscription_item="text",
                period__start="bigint",
                period__end="bigint",
                price__id="text",
                price__unit_amount="bigint",
                price__type="text",
                price__recurring__interval="text",
                price__recurring__interval_count="bigint",
                price__recurring__usage_type="text",
            )
        },
        ("lines__data", "discount_amounts"): {"columns": _cols(amount="bigint", discount="text")},
        ("lines__data", "tax_amounts"): {
            "columns": _cols(amount="bigint", inclusive="bool", tax_rate="text")
        },
    },
}
