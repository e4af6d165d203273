"""The product database's default mapping (the sandbox's ListKit-like schema) and load settings.

A mapping names, for each role the models read, the table and the columns that hold it. Roles and their
canonical columns are fixed (staging reads them); the source table and column names are configuration
(`[sources.admin.tables.<role>]` in .dlt/config.toml), so another product's schema is a few lines of TOML.
"""

from typing import Any

BACKEND = "pyarrow"  # or "connectorx" (needs the connectorx package), "sqlalchemy" (slowest)
CHUNK_SIZE = 50_000
# Rows whose cursor value is up to this many seconds older than the newest one already loaded are read
# again: a transaction that commits late (its created_at older than rows committed before it) is not lost.
LAG_SECONDS = 7_200
# Deleted rows are found by reading every key of every table at most this often (0: every sync).
KEY_SCAN_HOURS = 24.0

# role -> {"table": source table, "key": canonical key, "cursor": canonical cursor column,
#          "columns": {canonical column: source column}}
DEFAULT_TABLES: dict[str, dict[str, Any]] = {
    "accounts": {
        "table": "accounts",
        "key": "account_id",
        "cursor": "updated_at",
        "columns": {
            "account_id": "account_id",
            "account_name": "name",
            "plan": "plan",
            "created_at": "created_at",
            "updated_at": "updated_at",
        },
    },
    "users": {
        "table": "users",
        "key": "user_id",
        "cursor": "updated_at",
        "columns": {
            "user_id": "user_id",
            "account_id": "account_id",
            "email": "email",
            "user_name": "name",
            "created_at": "created_at",
            "updated_at": "updated_at",
            "deactivated_at": "deactivated_at",
        },
    },
    "seats": {
        "table": "seats",
        "key": "account_id",
        "cursor": "updated_at",
        "columns": {
            "account_id": "account_id",
            "seats_purchased": "seats_purchased",
            "updated_at": "updated_at",
        },
    },
    "logins": {
        "table": "logins",
        "key": "login_id",
        "cursor": "committed_at",
        "columns": {
            "login_id": "login_id",
            "user_id": "user_id",
            "logged_in_at": "logged_in_at",
            "committed_at": "created_at",
        },
    },
    "credit_transactions": {
        "table": "credit_transactions",
        "key": "transaction_id",
        "cursor": "committed_at",
        "columns": {
            "transaction_id": "transaction_id",
            "account_id": "account_id",
            "user_id": "user_id",
            "credits": "credits",  # signed: usage negative, grants and top-ups positive
            "occurred_at": "occurred_at",
            "committed_at": "created_at",
        },
    },
    "exports": {
        "table": "exports",
        "key": "export_id",
        "cursor": "committed_at",
        "columns": {
            "export_id": "export_id",
            "user_id": "user_id",
            "account_id": "account_id",
            "exported_at": "exported_at",
            "committed_at": "created_at",
        },
    },
}
KEYS_SUFFIX = "__keys"  # <role>__keys: the keys seen by the latest key scan
