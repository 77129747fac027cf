"""What the routers take from the app: the clock, the sessions, the city admin, a request id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from fastapi import Request

__all__ = ["Clock", "request_id", "request_id_of", "system_clock"]

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_id_of(given: str) -> str:
    """The client's ``X-Request-ID`` when it is short printable ASCII, else a fresh one."""
    if given and len(given) <= 100 and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


async def request_id(request: Request) -> str:
    """This request's id (set by the app's middleware, which also returns it as X-Request-ID).
    Async: FastAPI runs it on the event loop, not on a worker thread (no thread hop for it)."""
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else request_id_of(request.headers.get("x-request-id", ""))
