"""Request bodies larger than a service needs are refused before they are read (ASGI
middleware for ``issuer_app`` and ``verifier_app``): 413 JSON ``{code: "too_large", message}``,
for a declared ``Content-Length`` at once and for a chunked body as soon as it passes the limit.
It runs before anything else (authentication included), so a caller without an API key cannot
make a node hold a large body in memory. Each service sets its own limits, per path.

It owns only the counting; which sizes a service accepts is the service's (``MAX_BODY`` in
``issuer_app.main``, the verifier's in ``verifier_app.main``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["BodyLimitMiddleware"]


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Plain ASGI: counts the body as it arrives; nothing above the limit reaches the app.

    ``limit`` holds for every path but those in ``limits`` (exact path → its own limit)."""

    def __init__(self, app: Any, limit: int, limits: Mapping[str, int] | None = None) -> None:
        self.app, self.limit, self.limits = app, limit, dict(limits or {})

    async def _refuse(self, send: Any, limit: int) -> None:
        body = json.dumps(
            {"code": "too_large", "message": f"the request body is larger than {limit} bytes"}
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
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):  # (mounted under a prefix: the app's own path)
            path = path[len(root) :]
        limit = self.limits.get(path, self.limit)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        seen = 0
        over = started = answered = False

        async def counted_receive() -> Any:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge  # the framework answers it as a bad body: replaced below
            return message

        async def tracked_send(message: Any) -> None:
            nonlocal started, answered
            if over:  # whatever the app says about a body cut short, the answer is 413
                if not answered:
                    answered = True
                    await self._refuse(send, limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted_receive, tracked_send)
        if over and not answered and not started:
            await self._refuse(send, limit)
