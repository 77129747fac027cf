"""One boundary for errors: an ``EdlError`` becomes JSON ``{code, message}`` with an HTTP
status; a request that does not fit the schema becomes ``{code: "bad_request", message}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from edl.errors import EdlError

__all__ = ["APP_ERROR_CODES", "AppError", "install", "status_of"]

APP_ERROR_CODES = ("bad_request", "frame_unreadable", "too_large")
"""Codes the app itself answers with (besides the library's)."""


class AppError(Exception):
    """A refusal by the app itself (not the library's): ``code`` is one of APP_ERROR_CODES."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_CONFLICT = {"status_rollback", "trust_rollback", "clock_turned_back", "pin_conflict"}


def status_of(error: EdlError) -> int:
    """409 for a bundle older than the one held (or a clock turned back), else 422."""
    return 409 if error.code in _CONFLICT else 422


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def install(app: FastAPI) -> None:
    @app.exception_handler(EdlError)
    async def _edl_error(request: Request, exc: EdlError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.diagnostics()), status_code=status_of(exc))

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only where and what kind: the values sent may be a holder's data, never echoed.
        where = "; ".join(
            ".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("type", ""))
            for e in exc.errors()[:5]
        )
        return JSONResponse(error_body("bad_request", f"the request does not fit: {where}"), status_code=422)
