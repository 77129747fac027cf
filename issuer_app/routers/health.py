"""``GET /health``: the process answers (no database); ``GET /ready``: the database answers too
(503 ``unavailable`` JSON when it does not)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from ..errors import responses
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="the service is up (touches no database)")
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    responses=responses(503),
    summary="the service can serve: its database answers (503 unavailable when not)",
)
def ready(request: Request) -> Health:
    with request.app.state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok")
