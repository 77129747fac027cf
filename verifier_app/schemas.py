"""Strict request/response models of the HTTP edge; the router converts to and from ``edl``."""

from __future__ import annotations

import datetime as _dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BundleInfo",
    "BundlePartOut",
    "Category",
    "ChallengeOut",
    "CheckOut",
    "ErrorOut",
    "Issuer",
    "LicenceOut",
    "VerifyRequest",
    "VerifyResponse",
]

MAX_TEXTS = 64
MAX_FRAMES = 8
MAX_FRAME_B64 = 4 * 1024 * 1024  # a 640x480 camera JPEG/PNG is far smaller
MAX_TEXT = 4096


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class VerifyRequest(_Strict):
    """QR texts already read (``DL1:...``) and/or camera frames (base64 PNG or JPEG, optionally
    as a ``data:`` URL), and the challenge this handheld showed, if any."""

    texts: list[str] = Field(default_factory=list, max_length=MAX_TEXTS)
    frames: list[str] = Field(default_factory=list, max_length=MAX_FRAMES)
    challenge: str | None = Field(default=None, pattern=r"^[0-9A-Z]{4,16}$")


class CheckOut(_Strict):
    name: str
    status: Literal["passed", "failed", "not_checked", "pinned"]
    code: str
    message: str
    required: bool


class Category(_Strict):
    code: str
    issue_date: _dt.date | None = None
    expiry_date: _dt.date | None = None
    restrictions: list[str] = Field(default_factory=list)


class LicenceOut(_Strict):
    """Only elements whose digests verified under a trusted signature."""

    family_name: str | None = None
    given_name: str | None = None
    family_name_national_character: str | None = None
    given_name_national_character: str | None = None
    birth_date: _dt.date | None = None
    document_number: str | None = None
    expiry_date: _dt.date | None = None
    age_over_18: bool | None = None
    categories: list[Category] = Field(default_factory=list)


class Issuer(_Strict):
    city_id: str | None = None
    city_name: str | None = None
    country: str | None = None
    key_id: str | None = None
    signer_not_before: _dt.datetime | None = None
    signer_not_after: _dt.datetime | None = None
    trust_list: str | None = None
    test: bool = False
    """A demo/TEST issuer (the page stamps it TEST)."""


class VerifyResponse(_Strict):
    """``verdict`` is None while nothing readable was seen; ``complete`` is false while the
    carousel still lacks its main frame or portrait (the page keeps scanning and sends back
    ``texts``, the QR texts read so far)."""

    verdict: Literal["green", "amber", "red"] | None
    complete: bool
    checks: list[CheckOut] = Field(default_factory=list)
    licence: LicenceOut | None = None
    portrait: str | None = None
    """Base64 JPEG, only when the portrait check passed."""
    issuer: Issuer | None = None
    texts: list[str] = Field(default_factory=list)
    unreadable_frames: int = 0


class ChallengeOut(_Strict):
    challenge: str


class BundlePartOut(_Strict):
    kind: str
    name: str
    sequence: int
    issued: _dt.datetime


class BundleInfo(_Strict):
    source: str
    note: str | None
    status_lists: bool
    sequence: int
    issued: _dt.datetime | None
    expires: _dt.datetime | None
    age_seconds: int | None
    cities: list[str]
    cities_without_status: list[str]
    parts: list[BundlePartOut]


class ErrorOut(_Strict):
    code: str
    message: str
