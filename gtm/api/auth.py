"""Bearer API keys from GTM_API_KEYS, with scopes `read` and `sync`. Keys are compared by sha256 and never
logged or echoed.

GTM_API_KEYS is either entries separated by `;` or white space, each `name:key` (scope read) or
`name:key:read,sync`, or `file:PATH` naming a file with one `name:sha256-of-key[:scopes]` per line
(`#` comments allowed), so the keys themselves need not sit on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from gtm.api.errors import ApiError
from gtm.errors import GtmError

SCOPES = ("read", "sync")
COOKIE = "gtm_key"


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: str
    scopes: frozenset[str]


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _scopes(text: str | None, where: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in (text or "read").split(",") if s.strip())
    unknown = scopes - set(SCOPES)
    if unknown:
        raise GtmError(f"{where}: unknown scope {sorted(unknown)[0]!r}; use read or read,sync")
    return scopes | {"read"}


def parse_keys(value: str) -> list[ApiKey]:
    """The keys of GTM_API_KEYS (see the module docstring); GtmError naming the entry, never the key."""
    value = value.strip()
    keys = []
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        if not path.is_file():
            raise GtmError(f"GTM_API_KEYS names {path}, which is not a file")
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(":")
            if len(parts) not in (2, 3) or not re.fullmatch(r"[0-9a-f]{64}", parts[1].lower()):
                raise GtmError(f"{path} line {number}: expected name:sha256hex[:scopes]")
            keys.append(
                ApiKey(
                    parts[0],
                    parts[1].lower(),
                    _scopes(parts[2] if len(parts) == 3 else None, f"{path} line {number}"),
                )
            )
        return keys
    for number, entry in enumerate(re.split(r"[;\s]+", value), start=1):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise GtmError(f"GTM_API_KEYS entry {number}: expected name:key or name:key:read,sync")
        keys.append(
            ApiKey(
                parts[0],
                digest(parts[1]),
                _scopes(parts[2] if len(parts) == 3 else None, f"GTM_API_KEYS entry {number}"),
            )
        )
    return keys


def keys_from_env() -> list[ApiKey]:
    keys = parse_keys(os.environ.get("GTM_API_KEYS", ""))
    if not keys:
        raise GtmError(
            "GTM_API_KEYS is not set: give the API at least one key, e.g. GTM_API_KEYS=me:<secret>"
        )
    return keys


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE) or None


def authenticate(keys: list[ApiKey], request: Request, scope: str) -> ApiKey:
    """The key of the request with `scope`; 401 without a valid key, 403 without the scope."""
    key = presented_key(request)
    if key is None:
        raise ApiError(
            401,
            "unauthorized",
            "missing API key: send Authorization: Bearer <key>",
            {"WWW-Authenticate": "Bearer"},
        )
    wanted = digest(key)
    match = next((k for k in keys if hmac.compare_digest(k.digest, wanted)), None)
    if match is None:
        raise ApiError(401, "unauthorized", "invalid API key", {"WWW-Authenticate": "Bearer"})
    if scope not in match.scopes:
        raise ApiError(403, "forbidden", f"the key {match.name!r} lacks the {scope!r} scope")
    return match
