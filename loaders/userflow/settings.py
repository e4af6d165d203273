"""Userflow endpoints, page size, API version and column hints."""

from typing import Any

DEFAULT_BASE_URL = "https://api.userflow.com"
API_VERSION = "2020-01-03"  # sent as the Userflow-Version header on every request
PAGE_SIZE = 100  # the largest `limit` Userflow's list endpoints accept

USERS_PATH = "/users"
CONTENT_SESSIONS_PATH = "/content_sessions"


def _cols(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, "data_type": data_type} for name, data_type in types.items()}


USER_COLUMNS = _cols(
    id="text",
    created_at="timestamp",
    attributes__email="text",
    attributes__name="text",
    attributes__signed_up_at="timestamp",
    attributes__last_seen_at="timestamp",
)
CONTENT_SESSION_COLUMNS = _cols(
    id="text",
    user_id="text",
    content_id="text",
    content__type="text",
    content__name="text",
    progress="decimal",
    completed="bool",
    completed_at="timestamp",
    created_at="timestamp",
    last_activity_at="timestamp",
)
USER_TIMESTAMPS = ("signed_up_at", "last_seen_at")
SESSION_TIMESTAMPS = ("completed_at", "created_at", "last_activity_at")
