"""``create_app(settings)``: the routers, the error boundary and the static page; nothing else."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from edl.body_limit import BodyLimitMiddleware
from edl.bundle import MAX_BUNDLE_SIZE

from . import errors
from .dependencies import Clock, TrustState, system_clock
from .routers import bundle, verify
from .schemas import MAX_FRAME_B64, MAX_FRAMES, MAX_TEXT, MAX_TEXTS
from .settings import Settings

__all__ = ["MAX_BODY", "MAX_VERIFY_BODY", "STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"

MAX_VERIFY_BODY = MAX_FRAMES * (MAX_FRAME_B64 + 64) + MAX_TEXTS * (6 * MAX_TEXT + 8) + 4096
"""Largest ``POST /verify`` body: the most frames and texts its schema admits, each text at
its longest with every character JSON-escaped (``\\u0000``, 6 bytes), and room for the rest."""

MAX_BODY = 64 * 1024
"""Largest body on any other path but ``POST /bundle`` (which takes up to ``MAX_BUNDLE_SIZE``)."""


def create_app(settings: Settings, *, clock: Clock = system_clock) -> FastAPI:
    """The verifier app; loads the trust now (an ``EdlError`` or ``OSError`` if it cannot)."""
    app = FastAPI(title="edl verifier", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.clock = clock
    app.state.trust = TrustState(settings, clock)
    errors.install(app)
    # outermost: no body over the path's limit is read (a page on the handheld or anything else
    # that reaches the port cannot make it hold more)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=MAX_BODY,
        limits={"/verify": MAX_VERIFY_BODY, "/bundle": MAX_BUNDLE_SIZE},
    )
    app.include_router(verify.router)
    app.include_router(bundle.router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        # At the root so that it may control the whole page.
        return FileResponse(
            STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
