"""API keys as a dependency: ``Authorization: Bearer <key>``, compared by SHA-256 with
``hmac.compare_digest``; a revoked key is refused like an unknown one (401), a key without
the scope is 403. ``admin`` holds every scope."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request
from sqlalchemy import select

from .db import ApiKey, hash_key
from .errors import AppError

__all__ = ["Caller", "require"]


class Caller:
    def __init__(self, key_id: int, name: str) -> None:
        self.id, self.name = key_id, name


def _authenticate(request: Request) -> ApiKey:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AppError(401, "unauthorized", "an API key is needed: Authorization: Bearer <key>")
    presented = hash_key(token.strip())
    with request.app.state.sessions() as s:
        keys = s.scalars(select(ApiKey).where(ApiKey.revoked.is_(None))).all()
    found: ApiKey | None = None
    for key in keys:  # every stored hash is compared: no early exit on a match
        if hmac.compare_digest(key.key_sha256, presented):
            found = key
    if found is None:
        raise AppError(401, "unauthorized", "the API key is unknown or revoked")
    return found


def require(scope: str) -> Callable[..., Caller]:
    def dependency(request: Request) -> Caller:
        key = _authenticate(request)
        scopes = key.scope_set()
        if scope not in scopes and "admin" not in scopes:
            raise AppError(403, "forbidden", f"the API key {key.name!r} lacks the scope {scope!r}")
        return Caller(key.id, key.name)

    return dependency
