"""Status stores: who owns a city's status indices and bits for the service.

The interface the service uses (``session`` is the caller's open SQLAlchemy session)::

    allocate(session, city, document_number) -> (list_id, index, kept)
    status_of(session, city, list_id, index) -> edl.status.Status

:class:`FileStatusStore` keeps them in the key-store folder (``edl.city_status.CityStatus``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from edl.city_status import CityStatus
from edl.status import Status

__all__ = ["FileStatusStore"]


class FileStatusStore:
    """The key store's files own the indices (``session`` is not used)."""

    def __init__(self, admin: Any) -> None:
        self.city_status = CityStatus(admin)

    def allocate(self, session: Session, city: str, document_number: str) -> tuple[int, int, bool]:
        return self.city_status.allocate(city, document_number)

    def status_of(self, session: Session, city: str, list_id: int, index: int) -> Status:
        return self.city_status.status_of(city, list_id, index)
