"""What the routes depend on: the clock and the handheld's trust (a bundle, or a trust list
alone). Both live on ``app.state`` and are reached through ``get_clock`` / ``get_trust``, which
tests override (``app.dependency_overrides``)."""

from __future__ import annotations

import datetime as _dt
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from edl.bundle import VerifiedBundle
from edl.errors import EdlError, TrustListExpiredError
from edl.pins import Pins
from edl.trust import TrustRoot, VerifiedTrustList, verify_root

from .settings import Settings

__all__ = ["Clock", "ClockDep", "Loaded", "TrustDep", "TrustState", "get_clock", "get_trust", "system_clock"]

Clock = Callable[[], _dt.datetime]
log = logging.getLogger("verifier_app")

# A refusal that means "older than what this handheld holds".
_OLDER = {"status_rollback", "trust_rollback"}


def system_clock() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the handheld verifies against now: the trust lists, the bundle (None with a trust
    list alone: status is then amber), when it was loaded and a note for the officer."""

    trust_lists: tuple[VerifiedTrustList, ...]
    bundle: VerifiedBundle | None
    loaded_at: _dt.datetime
    source: str
    note: str | None = None


class TrustState:
    """The handheld's trust, loaded at start and replaced only by a bundle that verifies whole
    and is not older than the one held (``edl.pins.Pins.load_bundle`` decides; the accepted
    bytes are kept in the state folder)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.pins = Pins(settings.home)
        self._lock = threading.Lock()
        self.extra_roots: tuple[TrustRoot, ...] = tuple(
            verify_root(p.read_bytes()) for p in settings.trust_roots
        )
        self.loaded = self._load_at_start(clock())

    def _load_at_start(self, now: _dt.datetime) -> Loaded:
        s = self.settings
        if s.trust_list is not None:
            verified = self.pins.load_list(s.trust_list.read_bytes(), now=now, extra_roots=self.extra_roots)
            return Loaded((verified,), None, now, f"trust list {s.trust_list.name} (no status lists)")
        assert s.bundle is not None
        given = s.bundle.read_bytes()
        try:
            bundle = self.pins.load_bundle(given, now=now, extra_roots=self.extra_roots)
        except EdlError as e:
            if e.code not in _OLDER or not s.held_bundle.exists():
                raise
            held = self.pins.load_bundle(s.held_bundle.read_bytes(), now=now, extra_roots=self.extra_roots)
            note = (
                f"the bundle file {s.bundle.name} is older than the bundle this handheld holds: "
                "using the held one"
            )
            log.warning("%s (%s)", note, e.code)
            return Loaded(held.trust_lists, held, now, "held bundle", note)
        _write_atomic(s.held_bundle, given)
        return Loaded(bundle.trust_lists, bundle, now, f"bundle {s.bundle.name}")

    def accept_bundle(self, data: bytes, now: _dt.datetime) -> Loaded:
        """Load a pushed bundle; raises the library's ``EdlError`` when any part fails or is
        older than what is held (nothing is then recorded or replaced)."""
        with self._lock:
            bundle = self.pins.load_bundle(data, now=now, extra_roots=self.extra_roots)
            _write_atomic(self.settings.held_bundle, data)
            self.loaded = Loaded(bundle.trust_lists, bundle, now, "pushed bundle")
            log.info("accepted a bundle of %d bytes", len(data))
            return self.loaded

    def check_now(self, now: _dt.datetime) -> None:
        """Refuse to verify on a clock turned back (the library's rule) or with a trust list
        that has expired since it was loaded (a handheld runs for days): load a newer bundle."""
        self.pins.check_clock(now)
        for tl in self.loaded.trust_lists:
            if now > tl.trust_list.expires or now > tl.root.expires:
                raise TrustListExpiredError(
                    f"the trust list #{tl.trust_list.sequence} expired on "
                    f"{min(tl.trust_list.expires, tl.root.expires):%Y-%m-%d %H:%M}Z: load a newer bundle"
                )


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_trust(request: Request) -> TrustState:
    state: TrustState = request.app.state.trust
    return state


ClockDep = Annotated[Clock, Depends(get_clock)]
TrustDep = Annotated[TrustState, Depends(get_trust)]


def describe(loaded: Loaded, now: _dt.datetime) -> dict[str, Any]:
    """The bundle's summary for GET /bundle and the page's badge."""
    bundle_parts = loaded.bundle.parts() if loaded.bundle is not None else ()
    parts = [
        {"kind": p.kind, "name": p.name, "sequence": p.sequence, "issued": p.issued} for p in bundle_parts
    ]
    issued = [tl.trust_list.issued for tl in loaded.trust_lists] + [
        p.issued for p in bundle_parts if p.kind == "status_list"
    ]
    oldest = min(issued) if issued else None
    return {
        "source": loaded.source,
        "note": loaded.note,
        "status_lists": loaded.bundle is not None,
        "sequence": max((tl.trust_list.sequence for tl in loaded.trust_lists), default=0),
        "issued": oldest,
        "expires": min((tl.trust_list.expires for tl in loaded.trust_lists), default=None),
        "age_seconds": int((now - oldest).total_seconds()) if oldest else None,
        "cities": sorted({c.id for tl in loaded.trust_lists for c in tl.trust_list.cities}),
        "cities_without_status": list(loaded.bundle.cities_without_status()) if loaded.bundle else [],
        "parts": parts,
    }
