"""One boundary for errors: every refusal is JSON ``{code, message}``.

An ``EdlError`` keeps the library's code (422, or 404 for an unknown city); the app's own
refusals are ``AppError`` with a code from APP_ERROR_CODES. Values sent are never echoed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from edl.errors import EdlError

__all__ = ["APP_ERROR_CODES", "AppError", "error_body", "install", "responses"]

log = logging.getLogger("issuer_app")

APP_ERROR_CODES = (
    "bad_request",
    "unauthorized",
    "forbidden",
    "not_found",
    "nonce_unknown",
    "nonce_expired",
    "nonce_used",
    "already_issued",
    "licence_expired",
    "signer_expired",
    "idempotency_conflict",
    "rate_limited",
    "unavailable",
    "internal",
)
RETRY_AFTER_UNAVAILABLE = 2  # seconds: the database is away (the pool re-pings it)

_DESCRIPTIONS = {
    401: "unauthorized: no API key, or an unknown or revoked one",
    403: "forbidden: the API key lacks the scope",
    404: "unknown_city, or not_found (no such licence)",
    409: "nonce_used, already_issued, idempotency_conflict, revoked, suspended, signer_expired (the city's "
    "document signer certificate is not valid now: the office rotates it)",
    422: "bad_request (the body does not fit), malformed, unsupported, nonce_unknown, nonce_expired, "
    "not_holder, licence_expired (past its expiry date: no credential is signed for it)",
    429: "rate_limited: too many requests for this API key this minute (Retry-After says when to retry)",
    503: "unavailable: the database cannot be reached (Retry-After); the service recovers on its own",
}
_EXAMPLES = {
    401: ("unauthorized", "the API key is unknown or revoked"),
    403: ("forbidden", "the API key 'desk' lacks the scope 'revoke'"),
    404: ("unknown_city", "city cn-nowhere is not in this key store"),
    409: ("revoked", "this licence is revoked (final): it cannot be renewed"),
    422: ("bad_request", "the request does not fit: body.licence: missing"),
    429: ("rate_limited", "too many requests for this API key: retry after 12 s"),
    503: ("unavailable", "the database cannot be reached: retry shortly"),
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses of an operation, for OpenAPI: each ``{code, message}`` with an example."""
    from .schemas import ErrorResponse

    return {
        status: {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS[status],
            "content": {
                "application/json": {
                    "example": {"code": _EXAMPLES[status][0], "message": _EXAMPLES[status][1]}
                }
            },
        }
        for status in statuses
    }


class AppError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def status_of(error: EdlError) -> int:
    return 404 if error.code == "unknown_city" else 422


def install(app: FastAPI) -> None:
    @app.exception_handler(EdlError)
    async def _edl_error(request: Request, exc: EdlError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.diagnostics()), status_code=status_of(exc))

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=headers or None
        )

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        # the type only: a driver's message may carry the URL (a password) or a row's values
        log.warning("database unavailable (%s) on %s", type(exc).__name__, request.url.path)
        return JSONResponse(
            error_body("unavailable", "the database cannot be reached: retry shortly"),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
        )

    for kind in (OperationalError, InterfaceError, PoolTimeout, DisconnectionError):
        app.add_exception_handler(kind, _unavailable)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await _unavailable(request, exc)
        log.error("database error (%s) on %s", type(exc).__name__, request.url.path)
        return JSONResponse(error_body("internal", "an internal error: see the service log"), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("type", ""))
            for e in exc.errors()[:5]
        )
        return JSONResponse(error_body("bad_request", f"the request does not fit: {where}"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "bad_request"
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error (%s) on %s", type(exc).__name__, request.url.path)
        return JSONResponse(error_body("internal", "an internal error: see the service log"), status_code=500)
