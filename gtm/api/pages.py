"""The two small HTML pages of the API besides the dashboard: sign-in and the offline OpenAPI reference.

FastAPI's default /docs loads Swagger UI from a CDN; this page needs no network: it reads /openapi.json and
lists every operation with its parameters, responses and schemas in plain HTML.
"""

from __future__ import annotations

import html
from importlib.resources import files

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;max-width:980px;color:#222}"
    "code,pre{background:#f3f4f6;padding:1px 4px;border-radius:4px}"
    ".op{border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;margin:10px 0}"
    ".method{font-weight:700;text-transform:uppercase;margin-right:8px}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}"
)


def login_page(message: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        "<title>GTM Intelligence: sign in</title>"
        f"<style>{STYLE}</style></head><body><h1>GTM Intelligence</h1><p>{html.escape(message)}.</p>"
        "<form method='post' action='/login'><label>API key (scope read) "
        "<input id='key' name='key' type='password' autocomplete='off' required></label> "
        "<button id='sign-in' type='submit'>Open the dashboard</button></form></body></html>"
    )


DOCS_PAGE = (files("gtm") / "templates" / "docs.html").read_text(encoding="utf-8")
