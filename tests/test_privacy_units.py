"""Pure helpers of API keys and erasure: key parsing and scopes, the loaders' forgotten-person filter."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gtm.api.auth import digest, parse_keys
from gtm.errors import GtmError
from gtm.privacy import email_hash, email_key, mentions_forgotten


def test_keys_from_pairs_with_scopes() -> None:
    keys = parse_keys("bi:secret-one; ops:secret-two:read,sync\nci:secret-three:sync")
    assert [(k.name, sorted(k.scopes)) for k in keys] == [
        ("bi", ["read"]),
        ("ops", ["read", "sync"]),
        ("ci", ["read", "sync"]),
    ]
    assert keys[0].digest == hashlib.sha256(b"secret-one").hexdigest()


def test_keys_from_a_file_of_hashes(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# team keys\nbi:{digest('k1')}\nops:{digest('k2').upper()}:read,sync\n")
    keys = parse_keys(f"file:{path}")
    assert [(k.name, k.digest) for k in keys] == [("bi", digest("k1")), ("ops", digest("k2"))]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nocolon", "GTM_API_KEYS entry 1: expected name:key or name:key:read,sync"),
        ("a:b:admin", "GTM_API_KEYS entry 1: unknown scope 'admin'; use read or read,sync"),
        ("file:/nonexistent/keys", "GTM_API_KEYS names /nonexistent/keys, which is not a file"),
    ],
)
def test_bad_keys_are_one_line_without_the_key(value: str, message: str) -> None:
    with pytest.raises(GtmError) as error:
        parse_keys(value)
    assert str(error.value) == message


def test_forgotten_people_are_found_anywhere_in_a_record() -> None:
    hashes = frozenset({email_hash(email_key("  Jane.Doe@Example.com "))})
    assert mentions_forgotten({"email": "JANE.DOE@example.com"}, hashes)
    assert mentions_forgotten([{"properties": {"email": " jane.doe@example.com"}}], hashes)
    assert mentions_forgotten({"raw_record": json.dumps({"email": "Jane.Doe@Example.com"})}, hashes)
    assert not mentions_forgotten({"email": "john@example.com", "n": 3, "tags": ["a@b.c"]}, hashes)
    assert not mentions_forgotten({"email": "jane.doe@example.com"}, frozenset())


def test_email_key_rejects_what_is_not_an_email() -> None:
    with pytest.raises(GtmError, match="is not an email address"):
        email_key("jane")
