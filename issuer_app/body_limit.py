"""A request body larger than the service needs is refused before it is read: 413 JSON
``{code: "too_large", message}``, for a declared ``Content-Length`` at once and for a chunked
body as soon as it passes the limit. Runs before authentication, so a caller without an API key
cannot make a node hold a large body in memory.

The largest real request is an issue: the licence JSON with its portrait (a JPEG of at most 512
KiB, about 700 KB as base64) and the device key; :data:`MAX_BODY` leaves room for that.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

__all__ = ["MAX_BODY", "BodyLimitMiddleware"]

MAX_BODY = 2 * 1024 * 1024


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Plain ASGI: counts the body as it arrives; nothing above ``limit`` bytes reaches the app."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {"code": "too_large", "message": f"the request body is larger than {self.limit} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        seen = 0
        over = started = answered = False

        async def counted_receive() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLarge  # the framework answers it as a bad body: replaced below
            return message

        async def tracked_send(message: Any) -> None:
            nonlocal started, answered
            if over:  # whatever the app says about a body cut short, the answer is 413
                if not answered:
                    answered = True
                    await self._refuse(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted_receive, tracked_send)
        if over and not answered and not started:
            await self._refuse(send)
