"""``create_app(settings)``: the database, the city admin, the routers and the error boundary."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from edl.city import CityAdmin
from edl.keys import FileKeyStore

from . import errors
from .db import make_engine, make_sessions, migrate
from .dependencies import Clock, request_id_of, system_clock
from .issuing import IssuingContext
from .routers import health, licences, status
from .settings import Settings
from .status_store import DbStatusStore

__all__ = ["create_app"]


def create_app(settings: Settings, *, clock: Clock = system_clock, keystore: Any = None) -> FastAPI:
    """The issuing service. ``keystore`` defaults to the file key store of ``settings.keystore``
    (its passphrase from the settings, else EDL_KEYSTORE_PASSPHRASE); the tables are created."""
    app = FastAPI(
        title="edl issuer",
        description="A city's issuing service: API keys, single-use nonces, ISO mdoc + compact credentials.",
        docs_url=None,  # no CDN: the schema is at /openapi.json
        redoc_url=None,
    )
    if keystore is None:
        keystore = FileKeyStore(settings.keystore / "keys", settings.passphrase_bytes())
    engine = make_engine(settings.database)
    migrate(engine)
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.sessions = make_sessions(engine)
    app.state.admin = CityAdmin(settings.keystore, keystore)
    app.state.issuing = IssuingContext(
        admin=app.state.admin, clock=clock, status=DbStatusStore(engine, app.state.admin)
    )
    errors.install(app)

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Any) -> Any:
        request.state.request_id = request_id_of(request.headers.get("x-request-id", ""))
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    app.include_router(health.router)
    app.include_router(licences.router)
    app.include_router(status.router)
    return app
