"""`gtm serve`: the read-only HTTP API and the dashboard over the marts (docs/api.md)."""

from gtm.api.app import create_app

__all__ = ["create_app"]
