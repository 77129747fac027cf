"""One boundary for errors: every refusal is JSON ``{code, message}``.

An ``EdlError`` keeps the library's code (422, or 404 for an unknown city); the app's own
refusals are ``AppError`` with a code from APP_ERROR_CODES. Values sent are never echoed.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from edl.errors import EdlError

__all__ = ["APP_ERROR_CODES", "AppError", "error_body", "install"]

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
    "idempotency_conflict",
    "internal",
)


class AppError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=headers)

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
