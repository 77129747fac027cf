from __future__ import annotations

from fastapi import APIRouter

from ..schemas import Health

router = APIRouter()


@router.get("/health", response_model=Health, summary="the service is up")
def health() -> Health:
    return Health(status="ok")
