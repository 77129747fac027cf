"""API keys as a dependency: ``Authorization: Bearer <key>``, looked up by its SHA-256 (the
database never holds a key); a revoked key is refused like an unknown one (401), a key without
the scope is 403. ``admin`` holds every scope.

The key is looked up by the SHA-256 of what was presented (an indexed equality on a hash of a
256-bit random key: its timing tells nothing usable about any key).

Rate limits: each key may make ``rate_per_minute`` requests a minute (its own, else the
service's ``Settings.rate_per_minute``), counted in the database (``rate_windows``: one row per
key and minute, ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count``), so
that any number of API nodes share one count and keep no state. Over the limit: 429
``rate_limited`` with ``Retry-After`` (seconds to the next minute).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection

from .db import ApiKey, RateWindow, hash_key, single_statements
from .errors import AppError

__all__ = ["Caller", "require"]


class Caller:
    """Who calls: the API key's row id, its name (the audit's "who") and its scopes."""

    def __init__(self, key_id: int, name: str, scopes: set[str] | None = None) -> None:
        self.id, self.name, self.scopes = key_id, name, scopes or set()


def _count(conn: Connection, key_id: int, window: int) -> int:
    """This key's requests in ``window`` (minutes since the epoch), this one included: atomic."""
    values: dict[str, Any] = {"api_key_id": key_id, "window": window, "count": 1}
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(RateWindow).values(**values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(RateWindow).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["api_key_id", "window"], set_={"count": stmt.excluded.count + RateWindow.count}
    ).returning(RateWindow.count)
    count = int(conn.execute(stmt).scalar_one())
    if count == 1:  # the key's first request this minute: forget its older minutes
        conn.execute(delete(RateWindow).where(RateWindow.api_key_id == key_id, RateWindow.window < window))
    return count


# PostgreSQL: the key, its count for this minute (+1) and a commit that does not wait for the
# disk (a count lost in a crash is harmless), in one statement and one round trip
_PG_AUTH = text(
    """
    WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
    k AS (SELECT id, name, scopes, rate_per_minute FROM api_keys
          WHERE key_sha256 = :sha AND revoked IS NULL),
    c AS (INSERT INTO rate_windows (api_key_id, "window", count) SELECT id, :window, 1 FROM k
          ON CONFLICT (api_key_id, "window") DO UPDATE SET count = rate_windows.count + 1
          RETURNING count)
    SELECT k.id, k.name, k.scopes, k.rate_per_minute, c.count FROM k, c, relaxed
    """
)


def _key_and_count(
    conn: Connection, presented: str, window: int
) -> tuple[int, str, set[str], int | None, int] | None:
    """(id, name, scopes, own rate, this minute's count with this request) of the unrevoked key
    whose SHA-256 is ``presented``, or None."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(_PG_AUTH, {"sha": presented, "window": window}).first()
        if row is None:
            return None
        key_id, name, scopes, rate, count = row
        if count == 1:  # the key's first request this minute: forget its older minutes
            conn.execute(
                delete(RateWindow).where(RateWindow.api_key_id == key_id, RateWindow.window < window)
            )
    else:
        key = conn.execute(
            select(ApiKey.id, ApiKey.name, ApiKey.scopes, ApiKey.rate_per_minute).where(
                ApiKey.key_sha256 == presented, ApiKey.revoked.is_(None)
            )
        ).first()
        if key is None:
            return None
        key_id, name, scopes, rate = key
        count = _count(conn, key_id, window)
    return int(key_id), str(name), {x for x in str(scopes).split(",") if x}, rate, int(count)


def _authenticate(request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise AppError(401, "unauthorized", "an API key is needed: Authorization: Bearer <key>")
    presented = hash_key(token.strip())
    state = request.app.state
    seconds = int(state.clock().timestamp())
    if state.engine.dialect.name == "postgresql":  # one statement (two, once a minute): autocommit
        with single_statements(state.engine).connect() as conn:
            found = _key_and_count(conn, presented, seconds // 60)
    else:
        with state.engine.begin() as conn:  # (Core: no ORM session for two statements)
            found = _key_and_count(conn, presented, seconds // 60)
    if found is None:
        raise AppError(401, "unauthorized", "the API key is unknown or revoked")
    key_id, name, scopes, rate, count = found
    limit = rate or state.settings.rate_per_minute
    if count > limit:
        wait = 60 - seconds % 60
        raise AppError(
            429,
            "rate_limited",
            f"too many requests for this API key ({limit} a minute): retry after {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return Caller(key_id, name, scopes)


def require(scope: str) -> Callable[..., Caller]:
    def dependency(request: Request) -> Caller:
        caller = _authenticate(request)
        if scope not in caller.scopes and "admin" not in caller.scopes:
            raise AppError(403, "forbidden", f"the API key {caller.name!r} lacks the scope {scope!r}")
        return caller

    return dependency
