"""``create_app(settings)``: the database, the city admin, the routers and the error boundary."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from edl.body_limit import BodyLimitMiddleware
from edl.keys import FileKeyStore

from . import errors
from .city_cache import CachedCityAdmin
from .db import make_engine, make_sessions, migrate
from .dependencies import Clock, request_id_of, system_clock
from .issuing import IssuingContext
from .routers import health, licences, status
from .settings import Settings
from .status_store import DbStatusStore

__all__ = ["MAX_BODY", "create_app"]

MAX_BODY = 2 * 1024 * 1024
"""Largest request body (2 MiB): the largest real request is an issue, the licence JSON with its
portrait (a JPEG of at most 512 KiB, about 700 KB as base64) and the device key."""


class RequestIdMiddleware:
    """Every request gets an id (the client's ``X-Request-ID`` when short printable ASCII, else a
    fresh one), in ``request.state.request_id`` and the response's ``X-Request-ID``. Plain ASGI:
    no extra task or body streaming per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        rid = request_id_of(given.decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


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
    app.state.admin = CachedCityAdmin(settings.keystore, keystore)  # (files re-read when changed)
    app.state.issuing = IssuingContext(
        admin=app.state.admin, clock=clock, status=DbStatusStore(engine, app.state.admin)
    )
    errors.install(app)

    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY)  # outermost: nothing reads a body over the limit

    app.include_router(health.router)
    app.include_router(licences.router)
    app.include_router(status.router)
    return app
