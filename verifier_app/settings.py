"""The verifier's settings, read once at start (pydantic only at the HTTP edge)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edl.verify import DEFAULT_STATUS_MAX_AGE

__all__ = ["BUNDLE_FILE", "Settings"]

BUNDLE_FILE = "verifier-bundle.cbor"
"""The newest accepted bundle, kept in the state folder (``EDL_HOME``)."""


class Settings(BaseModel):
    """Whom to trust (exactly one of ``bundle`` and ``trust_list``), the operator roots given
    for this run (``trust_roots``, never pinned), the state folder (``home``, as ``EDL_HOME``)
    and how old a status list may be."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    bundle: Path | None = None
    trust_list: Path | None = None
    trust_roots: tuple[Path, ...] = ()
    home: Path
    status_max_age: _dt.timedelta = Field(default=DEFAULT_STATUS_MAX_AGE, gt=_dt.timedelta(0))

    @model_validator(mode="after")
    def _one_source(self) -> Settings:
        if (self.bundle is None) == (self.trust_list is None):
            raise ValueError("say whom to trust: exactly one of bundle or trust_list")
        return self

    @property
    def held_bundle(self) -> Path:
        return self.home / BUNDLE_FILE
