"""Customer-supplied text made safe for where it is shown: Slack mrkdwn and the terminal.

A customer's name, e-mail or a conversation excerpt is data, never markup: it cannot mention @channel,
link to a phishing page, close a rich style tag or move the cursor. Long values are cut.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape as rich_escape

# C0 and C1 control characters (ESC, NUL, BEL, ...), DEL, and the Unicode bidi and line/paragraph
# separators that reorder or break what a terminal shows. Tabs and newlines become spaces.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Slack turns these words into notifications when a message is posted with link_names.
BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
ELLIPSIS = "…"
DEFAULT_LIMIT = 200


def cut(text: str, limit: int | None = DEFAULT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when something was cut."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def plain(value: Any, limit: int | None = DEFAULT_LIMIT) -> str:
    """``value`` as one line of printable text: control characters replaced, cut to ``limit``."""
    text = "" if value is None else str(value)
    return cut(CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "\ufffd", text), limit)


def slack(value: Any, limit: int | None = DEFAULT_LIMIT) -> str:
    """``value`` for Slack mrkdwn: no control characters, ``&<>`` escaped (so no ``<!channel>``, user
    mention or link), ``@channel``/``@here``/``@everyone`` defused, cut to ``limit``."""
    text = plain(value, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


def unslack(text: str) -> str:
    """Text escaped by ``slack`` read back for a terminal (``gtm alerts --dry-run``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def terminal(value: Any, limit: int | None = DEFAULT_LIMIT) -> str:
    """``value`` for a rich console string: no control characters, rich markup escaped, cut."""
    return rich_escape(plain(value, limit))


def terminal_tree(value: Any, markup: bool = True, limit: int | None = None) -> Any:
    """Every string inside ``value`` (dicts, lists) made safe for the terminal: ``terminal`` when it will
    be printed as rich markup, ``plain`` when it goes into a rich ``Text``."""
    if isinstance(value, str):
        return terminal(value, limit) if markup else plain(value, limit)
    if isinstance(value, dict):
        return {key: terminal_tree(item, markup, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(terminal_tree(item, markup, limit) for item in value)
    return value
