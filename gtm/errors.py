"""Expected failures and how they are told to a person: one line, no traceback, no secret."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit


class GtmError(Exception):
    """A failure the user can act on; its message is printed as is (after redaction) and gtm exits 1."""


def secret_values() -> list[str]:
    """Every secret the environment holds: source tokens, Slack credentials, the database password."""
    secrets = [
        value
        for key, value in os.environ.items()
        if value
        and (
            re.fullmatch(r"SOURCES__\w+__(ACCESS_TOKEN|API_KEY|CLIENT_SECRET|PASSWORD)", key)
            or key in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")
        )
    ]
    url = os.environ.get("DATABASE_URL")
    if url:
        password = urlsplit(url).password
        if password:
            secrets.append(password)
    return sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (and URL passwords masked)."""
    for secret in secret_values():
        text = text.replace(secret, "***")
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
