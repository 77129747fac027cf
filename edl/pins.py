"""A verifier's trust state on disk: pinned operator roots and what it has already seen.

This module owns the state folder (``EDL_HOME``; default ``$XDG_DATA_HOME/edl`` or
``~/.local/share/edl``): the operator roots pinned by hand (``edl trust pin``, or ``edl trust
init`` for the operator's own), the later root versions learned from trust lists, and the
highest list sequence and newest issue time seen. Loading a trust list goes through here so
that an older list (rollback) is refused and a clock turned back cannot revive an expired one.
It never touches the network.

Layout::

    pins/<fingerprint>.root.cbor      signed roots pinned by hand (the only persistent act of trust)
    learned/<fingerprint>.root.cbor   later root versions, each reached from a pin by update_root
    state.json                        {"format": 2, "roots": {fingerprint: {"name", "version",
                                       "sequence", "newest_issued", "digest"}}}

Rules (``specs/trust-list.md`` §9):

* Nothing that arrives in a trust list's unprotected ``edl-roots`` header is recorded unless a
  verified chain leads to it from a root pinned *here*: a ``--trust-root`` given for one run
  (``extra_roots``) is trusted for that run only, and neither it nor what it leads to is kept.
* Every load re-checks that each learned root is reachable from a pin by a verified chain; one
  that is not is ignored, reported by :meth:`Pins.problems`, and removed at the next record.
* What is remembered is keyed by the operator root's key fingerprint
  (:attr:`~edl.trust.TrustRoot.fingerprint`), never by its name, so two operators that share a
  name never collide; a list's state is recorded under every root of its verified chain.
* A folder written by edl 0.1 (``roots/<name>-v<N>.root.cbor``, name-keyed ``state.json``) mixed
  pins with learned roots and may hold a smuggled one: it is not trusted, and the problem says
  to pin again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cbor, cose
from ._files import write_atomic
from .errors import (
    ClockTurnedBackError,
    EdlError,
    MalformedError,
    PinConflictError,
    StatusListError,
    TrustListRollbackError,
)

if TYPE_CHECKING:
    from .bundle import VerifiedBundle

from .trust import (
    TrustRoot,
    VerifiedTrustList,
    most_telling,
    read_unverified,
    update_root,
    verify_root,
    verify_trust_list,
)

__all__ = ["Pins", "default_home"]

STATE_FORMAT = 2
CLOCK_SKEW = _dt.timedelta(minutes=5)
"""How far the clock may read behind the newest signed time seen before it counts as turned back."""
MAX_LEARNED = 256
"""Most learned-root files read (a folder stuffed with more is reported, the rest ignored)."""
MAX_ROOT_FILE = 1 << 20


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """``EDL_HOME``, else ``$XDG_DATA_HOME/edl``, else ``~/.local/share/edl``."""
    env = os.environ if env is None else env
    if env.get("EDL_HOME"):
        return Path(env["EDL_HOME"])
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]) / "edl"
    return Path.home() / ".local" / "share" / "edl"


@dataclass(frozen=True, slots=True)
class Lineage:
    """A pinned root and the later versions learned from it, each verified from the one before."""

    pin: TrustRoot
    roots: tuple[TrustRoot, ...]
    """``pin`` first, then each learned version in order."""
    pinned: bool = True
    """False for a root given for one run only (``--trust-root``)."""

    @property
    def current(self) -> TrustRoot:
        return self.roots[-1]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(r.fingerprint for r in self.roots)


def _read_small(path: Path) -> bytes | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_ROOT_FILE:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _root_of(raw: bytes) -> TrustRoot:
    return TrustRoot.from_value(
        cbor.decode(cose.decode_sign(raw, what="trust root").payload, what="trust root")
    )


class Pins:
    """The pinned roots and seen-state of one verifier."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = Path(home)

    def __repr__(self) -> str:
        return f"Pins({str(self.home)!r})"

    # -- pins ------------------------------------------------------------------------------

    def pin(self, root_bytes: bytes, *, replace: bool = False) -> TrustRoot:
        """Pin a signed operator root (it must carry a threshold of its own signatures).

        The one persistent act of trust: the file is kept under ``pins/`` by the root's key
        fingerprint. Pinning the same root again changes nothing, nor does pinning a later
        version this device already reached by a verified chain. A root of *another* key under
        the name of a pinned one is refused (``pin_conflict``) unless ``replace``: then the old
        pin (and the roots learned from it) is removed.
        """
        root = verify_root(root_bytes)
        conflicts = [
            lin
            for lin in self.lineages()
            if lin.pin.name == root.name and root.fingerprint not in lin.fingerprints
        ]
        if conflicts and not replace:
            old = ", ".join(lin.pin.fingerprint[:16] for lin in conflicts)
            raise PinConflictError(
                f"{root.name} is already pinned with other keys (fingerprint {old}); this root's "
                f"fingerprint is {root.fingerprint[:16]}. If the operator really replaced its keys, "
                "confirm the new fingerprint with it and run 'edl trust pin --replace ROOT_FILE'"
            )
        for lin in conflicts:
            self._remove(lin)
        d = self.home / "pins"
        d.mkdir(parents=True, exist_ok=True, mode=0o755)
        path = d / f"{root.fingerprint}.root.cbor"
        if _read_small(path) != root_bytes:
            write_atomic(path, root_bytes)
        return root

    def unpin(self, what: str) -> list[TrustRoot]:
        """Remove the pins whose operator name is ``what``, or whose fingerprint starts with it
        (at least 8 hex digits), with the roots learned from them; returns what was removed."""
        gone = [
            lin
            for lin in self.lineages()
            if lin.pin.name == what or (len(what) >= 8 and lin.pin.fingerprint.startswith(what.lower()))
        ]
        for lin in gone:
            self._remove(lin)
        return [lin.pin for lin in gone]

    def _remove(self, lineage: Lineage) -> None:
        (self.home / "pins" / f"{lineage.pin.fingerprint}.root.cbor").unlink(missing_ok=True)
        keep = {fp for lin in self.lineages() for fp in lin.fingerprints}
        for root in lineage.roots[1:]:
            if root.fingerprint not in keep:
                (self.home / "learned" / f"{root.fingerprint}.root.cbor").unlink(missing_ok=True)

    def pinned(self) -> list[TrustRoot]:
        """The roots pinned by hand (a damaged or under-signed file pins nothing)."""
        return [root for root, _ in self._pinned_files()]

    def _pinned_files(self) -> list[tuple[TrustRoot, Path]]:
        d = self.home / "pins"
        out: list[tuple[TrustRoot, Path]] = []
        if not d.is_dir():
            return out
        for p in sorted(d.glob("*.root.cbor")):
            raw = _read_small(p)
            if raw is None:
                continue
            try:
                root = verify_root(raw)
            except EdlError:
                continue
            if p.name == f"{root.fingerprint}.root.cbor":
                out.append((root, p))
        return out

    def lineages(self) -> list[Lineage]:
        """Each pin with the learned roots reachable from it by verified steps."""
        return self._lineages()[0]

    def roots(self) -> list[TrustRoot]:
        """The newest verified root of every pin (what a trust list is checked against)."""
        return [lin.current for lin in self.lineages()]

    def problems(self) -> list[str]:
        """What in the state folder was found untrustworthy and ignored, as sentences."""
        return self._lineages()[1]

    def _learned_files(self) -> tuple[dict[int, list[tuple[bytes, Path]]], list[Path], list[str]]:
        d = self.home / "learned"
        by_version: dict[int, list[tuple[bytes, Path]]] = {}
        unreadable: list[Path] = []
        problems: list[str] = []
        if not d.is_dir():
            return by_version, unreadable, problems
        files = sorted(d.glob("*.root.cbor"))
        if len(files) > MAX_LEARNED:
            problems.append(f"{d} holds {len(files)} learned roots; only the first {MAX_LEARNED} were read")
            files = files[:MAX_LEARNED]
        for p in files:
            raw = _read_small(p)
            try:
                if raw is None:
                    raise MalformedError("unreadable")
                version = _root_of(raw).version
            except EdlError:
                unreadable.append(p)
                continue
            by_version.setdefault(version, []).append((raw, p))
        return by_version, unreadable, problems

    def _lineages(self) -> tuple[list[Lineage], list[str], list[Path]]:
        by_version, stray, problems = self._learned_files()
        used: set[Path] = set()
        lineages = []
        for pin, _ in self._pinned_files():
            roots = [pin]
            while True:
                step = None
                for raw, path in by_version.get(roots[-1].version + 1, []):
                    try:
                        step = update_root(roots[-1], raw)
                    except EdlError:
                        continue
                    used.add(path)
                    break
                if step is None:
                    break
                roots.append(step)
            lineages.append(Lineage(pin=pin, roots=tuple(roots)))
        stray += [p for entries in by_version.values() for _, p in entries if p not in used]
        for p in stray:
            problems.append(
                f"ignored {p}: no verified chain leads to it from a pinned root "
                "(it may have been smuggled in)"
            )
        legacy = self.home / "roots"
        if legacy.is_dir() and any(legacy.glob("*.root.cbor")):
            problems.append(
                f"ignored {legacy}: roots recorded by edl 0.1 are no longer trusted (that version could "
                "record a root smuggled in by a forged trust list); pin your operator's root again with "
                "'edl trust pin ROOT_FILE', then remove that folder"
            )
        return lineages, problems, stray

    # -- seen-state ------------------------------------------------------------------------

    def _read_state(self, section: str) -> dict[str, dict[str, Any]]:
        """One section of ``state.json`` (``roots`` by fingerprint, ``status`` by status list
        URI); anything malformed in the file is ignored."""
        try:
            raw = json.loads((self.home / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(raw, dict) or raw.get("format") != STATE_FORMAT:
            return {}
        part = raw.get(section)
        if not isinstance(part, dict):
            return {}
        return {k: e for k, e in part.items() if isinstance(k, str) and isinstance(e, dict)}

    def _state(self) -> dict[str, dict[str, Any]]:
        return self._read_state("roots")

    def _write_state(self, roots: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {"format": STATE_FORMAT, "roots": roots, "status": status}, indent=2, sort_keys=True
        )
        write_atomic(self.home / "state.json", (body + "\n").encode())

    def clock_floor(self) -> _dt.datetime | None:
        """The newest time signed by a trusted authority that this device has seen (a trust list's
        or a status list's issue time): a clock reading earlier than it was turned back."""
        times = [_when(e) for e in (*self._state().values(), *self._read_state("status").values())]
        return max((t for t in times if t is not None), default=None)

    def check_clock(self, now: _dt.datetime) -> None:
        """Refuse a ``now`` earlier than :meth:`clock_floor` (beyond a few minutes of skew): an
        expired licence or a stale list must not come back to life on a turned-back clock."""
        floor = self.clock_floor()
        if floor is not None and now + CLOCK_SKEW < floor:
            raise ClockTurnedBackError(
                f"this device's clock reads {now:%Y-%m-%d %H:%M}Z, but it has already seen a list signed "
                f"at {floor:%Y-%m-%d %H:%M}Z: the clock looks turned back. Set it right and check again"
            )

    @staticmethod
    def _key(root: TrustRoot | str) -> str:
        return root if isinstance(root, str) else root.fingerprint

    def last_sequence(self, root: TrustRoot | str) -> int | None:
        """The highest list sequence recorded under this root (or fingerprint)."""
        return _seq(self._state().get(self._key(root), {}))

    def newest_issued(self, root: TrustRoot | str) -> _dt.datetime | None:
        """The newest list issue time recorded under this root (or fingerprint)."""
        return _when(self._state().get(self._key(root), {}))

    # -- loading a list ----------------------------------------------------------------------

    def load_list(
        self,
        data: bytes,
        *,
        now: _dt.datetime,
        extra_roots: Sequence[TrustRoot] = (),
        record: bool = True,
    ) -> VerifiedTrustList:
        """Verify a trust list against the pinned roots (and ``extra_roots``, for this call only).

        Refuses a sequence older than the newest seen under any root of the list's verified
        chain, and a list with a seen sequence but other contents (substitution); measures
        expiry against the later of ``now`` and the newest issue time seen (a clock turned back
        does not revive a list). With ``record``, remembers the sequence, the issue time and,
        for a chain that starts at a pin of this folder, the root versions walked through.
        """
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        self.check_clock(now)
        lineages = self.lineages()
        starts = [*lineages, *(Lineage(pin=r, roots=(r,), pinned=False) for r in extra_roots)]
        if not starts:
            raise ValueError(
                "no trust-list root is pinned: run 'edl trust pin ROOT_FILE' (or pass --trust-root FILE)"
            )
        signed, unverified = read_unverified(data)
        mine = sorted(
            (s for s in starts if s.current.name == unverified.provider), key=lambda s: -s.current.version
        )
        if not mine:  # let the verifier say why (trust_root_unknown)
            verify_trust_list(data, [s.current for s in starts], now=now)
            raise AssertionError("unreachable: a list from an unpinned operator verified")
        state = self._state()
        digest = hashlib.sha256(signed.payload).hexdigest()
        errors: list[EdlError] = []
        for start in mine:
            seen = [state[fp] for fp in start.fingerprints if fp in state]
            newest = max((t for t in map(_when, seen) if t is not None), default=None)
            effective = max(now, newest) if newest is not None else now
            last = max((q for q in map(_seq, seen) if q is not None), default=None)
            try:
                verified = verify_trust_list(data, [start.current], now=effective, min_sequence=last)
                chain_fps = start.fingerprints | {r.fingerprint for r in verified.chain_roots}
                _check_not_older(verified, [state[fp] for fp in chain_fps if fp in state], digest)
            except EdlError as e:
                errors.append(e)
                continue
            if record:
                self._record(verified, start, chain_fps, digest)
            return verified
        raise most_telling(errors)

    def _record(self, verified: VerifiedTrustList, start: Lineage, fps: Iterable[str], digest: str) -> None:
        tl = verified.trust_list
        self.home.mkdir(parents=True, exist_ok=True)
        if start.pinned and verified.root_chain:
            # Only roots that a verified chain reaches from a pin of this folder are kept.
            d = self.home / "learned"
            d.mkdir(exist_ok=True)
            for raw, root in zip(verified.root_chain, verified.chain_roots[1:], strict=True):
                path = d / f"{root.fingerprint}.root.cbor"
                if _read_small(path) != raw:
                    write_atomic(path, raw)
        for stray in self._lineages()[2]:
            stray.unlink(missing_ok=True)
        state = self._state()
        names = {r.fingerprint: r for r in (*start.roots, *verified.chain_roots)}
        for fp in fps:
            entry = state.setdefault(fp, {})
            known = names.get(fp)
            if known is not None:
                entry["name"], entry["version"] = known.name, known.version
            seq = _seq(entry)
            if seq is None or tl.sequence >= seq:
                entry["sequence"] = tl.sequence
                entry["digest"] = digest
            newest = _when(entry)
            entry["newest_issued"] = max(tl.issued, newest).isoformat() if newest else tl.issued.isoformat()
        self._write_state(state, self._read_state("status"))

    # -- loading a bundle ----------------------------------------------------------------------

    def load_bundle(
        self,
        data: bytes,
        *,
        now: _dt.datetime,
        extra_roots: Sequence[TrustRoot] = (),
        record: bool = True,
    ) -> VerifiedBundle:
        """Verify a handheld bundle (``specs/status-list.md`` §7): every trust list through
        :meth:`load_list` (rollback, substitution), every status list against its city, and no
        status list older than the one this device holds for its URI (``status_rollback``; the
        same sequence with other contents is a substitution). The clock must not read earlier
        than the newest signed time seen (``clock_turned_back``). Nothing is recorded unless the
        whole bundle is accepted; then the trust lists and status lists are (their sequences,
        digests and issue times, the clock floor's sources).
        """
        from .bundle import load_bundle

        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        self.check_clock(now)
        trust_bytes: list[bytes] = []

        def verify(tl: bytes) -> VerifiedTrustList:
            verified = self.load_list(tl, now=now, extra_roots=extra_roots, record=False)
            trust_bytes.append(tl)
            return verified

        bundle = load_bundle(data, verify_trust_list=verify, now=now)
        seen = self._read_state("status")
        for uri, lst in bundle.status_lists.items():
            entry = seen.get(uri, {})
            last = _seq(entry)
            if last is not None and lst.sequence < last:
                raise StatusListError(
                    f"the bundle's status list {uri} is #{lst.sequence}, older than #{last}, which this "
                    "device already holds: refusing an older bundle",
                    code="status_rollback",
                )
            if last == lst.sequence and entry.get("digest") not in (None, lst.payload_digest.hex()):
                raise StatusListError(
                    f"status list {uri} #{last} differs from the #{last} this device already holds: "
                    "refusing a substituted list",
                    code="status_rollback",
                )
        if record:
            for tl in trust_bytes:
                self.load_list(tl, now=now, extra_roots=extra_roots, record=True)
            status = self._read_state("status")
            for uri, lst in bundle.status_lists.items():
                entry = status.setdefault(uri, {})
                if (_seq(entry) or 0) <= lst.sequence:
                    entry.update(sequence=lst.sequence, digest=lst.payload_digest.hex())
                newest = _when(entry)
                entry["newest_issued"] = (
                    max(lst.issued, newest).isoformat() if newest else lst.issued.isoformat()
                )
            self._write_state(self._state(), status)
        return bundle


def _seq(entry: Mapping[str, Any]) -> int | None:
    seq = entry.get("sequence")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


def _when(entry: Mapping[str, Any]) -> _dt.datetime | None:
    text = entry.get("newest_issued")
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def _check_not_older(verified: VerifiedTrustList, seen: Sequence[Mapping[str, Any]], digest: str) -> None:
    """Rollback and substitution against what was recorded under any root of the chain."""
    tl = verified.trust_list
    for entry in seen:
        last = _seq(entry)
        if last is None:
            continue
        if tl.sequence < last:
            raise TrustListRollbackError(
                f"trust list #{tl.sequence} is older than #{last}, which this device has already seen"
            )
        if tl.sequence == last and entry.get("digest") not in (None, digest):
            raise TrustListRollbackError(
                f"trust list #{last} differs from the #{last} this device already has: "
                "refusing a substituted list"
            )
