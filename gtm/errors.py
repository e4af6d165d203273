"""Expected failures and how they are told to a person: one line, no traceback, no secret."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit


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
    for key in ("DATABASE_URL", "GTM_READONLY_PASSWORD"):
        value = os.environ.get(key) or ""
        try:
            password = urlsplit(value).password if key == "DATABASE_URL" else value
        except ValueError:  # a malformed URL: its password cannot be told apart, mask the whole URL
            password = value
        if password:
            secrets += [password, unquote(password)]
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)


# What a secret is cut out of: an occurrence inside a longer word, address or host name (the token
# `sandbox` inside am@sandbox.example) is that word, not the secret.
BEFORE = r"(?<![\w.@+-])"
AFTER = r"(?![\w@+-]|\.\w)"


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` where it stands as a whole value, and the
    password of every URL masked."""
    for secret in secret_values():
        text = re.sub(BEFORE + re.escape(secret) + AFTER, "***", text)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)
