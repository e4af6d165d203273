"""Every error answer is {"error": {"code", "message"}} with the right status; never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gtm.errors import GtmError, redact

log = logging.getLogger("gtm.api")
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def busy(message: str) -> ApiError:
    """503 while a writer holds the warehouse: the client retries after a few seconds."""
    return ApiError(503, "warehouse_busy", message, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": redact(message)}}, status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "path"))
        return error_response(422, "invalid_request", f"{where}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(GtmError)
    async def gtm_error(_: Request, exc: GtmError) -> JSONResponse:
        return error_response(409, "not_ready", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        first = (str(exc).strip().splitlines() or [""])[0]
        log.error("unexpected error: %s: %s", type(exc).__name__, redact(first))
        return error_response(500, "internal_error", "unexpected error; the server log has one line about it")
