"""The FastAPI application of `gtm serve` (docs/api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gtm import __version__
from gtm.api import errors, routes
from gtm.api.auth import ApiKey, keys_from_env
from gtm.api.db import Access
from gtm.api.jobs import SyncJobs
from gtm.settings import Settings

DESCRIPTION = (
    "Read-only API over the GTM Intelligence marts (seed 001's endpoints), the dashboard at `/`, and sync "
    "jobs. Every amount is in the reporting currency named by `currency`."
)


def create_app(settings: Settings | None = None, keys: list[ApiKey] | None = None) -> FastAPI:
    """The app for `settings` (default: the environment) and `keys` (default: GTM_API_KEYS)."""
    from plotly.offline import get_plotlyjs

    settings = settings or Settings.from_env()
    keys = keys if keys is not None else keys_from_env()
    access = Access(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        access.close()

    app = FastAPI(
        title="GTM Intelligence API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.keys = keys
    app.state.access = access
    app.state.jobs = SyncJobs(settings, access)
    app.state.plotly_js = get_plotlyjs()
    errors.install(app)
    app.include_router(routes.router)
    return app
