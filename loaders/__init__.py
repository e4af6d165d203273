"""dlt sources of GTM Intelligence, one package per vendor.

Each package exposes a ``@dlt.source`` that talks to the vendor's real API by base URL. The registry below is
what ``gtm sync`` iterates over; adding a source means adding a package and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class SourceSpec:
    """How ``gtm sync`` finds, configures and counts a source."""

    name: str
    module: str
    factory: str
    secret: str = "access_token"  # the setting that, once set, makes the source configured
    http: bool = True  # an HTTP API: the factory takes the sync's counting ``session``

    def load(self) -> Callable[..., Any]:
        return getattr(import_module(self.module), self.factory)


SOURCES: dict[str, SourceSpec] = {
    "intercom": SourceSpec("intercom", "loaders.intercom", "intercom_source"),
    "hubspot": SourceSpec("hubspot", "loaders.hubspot", "hubspot_source"),
    "calendly": SourceSpec("calendly", "loaders.calendly", "calendly_source"),
    "userflow": SourceSpec("userflow", "loaders.userflow", "userflow_source"),
    "fathom": SourceSpec("fathom", "loaders.fathom", "fathom_source"),
    "admin": SourceSpec("admin", "loaders.admin", "admin_source", secret="credentials", http=False),
    "stripe": SourceSpec("stripe", "loaders.stripe", "stripe_source"),
    "chartmogul": SourceSpec("chartmogul", "loaders.chartmogul", "chartmogul_source"),
}
