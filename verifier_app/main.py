"""``create_app(settings)``: the routers, the error boundary and the static page; nothing else."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from . import errors
from .dependencies import Clock, TrustState, system_clock
from .routers import bundle, verify
from .settings import Settings

__all__ = ["STATIC", "create_app"]

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, *, clock: Clock = system_clock) -> FastAPI:
    """The verifier app; loads the trust now (an ``EdlError`` or ``OSError`` if it cannot)."""
    app = FastAPI(title="edl verifier", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.clock = clock
    app.state.trust = TrustState(settings, clock)
    errors.install(app)
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
