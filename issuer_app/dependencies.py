"""What the routers take from the app: the clock, the sessions, the city admin, a request id."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from fastapi import Request

__all__ = ["Clock", "request_id", "system_clock"]

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if given and len(given) <= 100 and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex
