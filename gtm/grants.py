"""The read-only role's password as a SCRAM-SHA-256 verifier, so `make grants` never hands the password
itself to dbt (whose logs and artifacts record every statement and env var a macro reads).

`python -m gtm.grants` prints the verifier of GTM_READONLY_PASSWORD; PostgreSQL stores a verifier given
to CREATE/ALTER ROLE ... PASSWORD as is, and a verifier cannot be used to log in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sys

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of ``password`` (RFC 5802 / 7677)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def main() -> None:
    password = os.environ.get("GTM_READONLY_PASSWORD", "")
    if not password:
        print("gtm: error: set GTM_READONLY_PASSWORD to the password of the read-only role", file=sys.stderr)
        sys.exit(1)
    print(scram_verifier(password))


if __name__ == "__main__":
    main()
