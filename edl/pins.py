"""A verifier's trust state on disk: pinned operator roots and what it has already seen.

This module owns the state folder (``EDL_HOME``; default ``$XDG_DATA_HOME/edl`` or
``~/.local/share/edl``): the operator roots pinned by hand (``edl trust pin``, or ``edl trust
init`` for the operator's own), the newer root versions learned from trust lists, and per
operator the highest list sequence and the newest issue time seen. Loading a trust list
goes through here so that an older list (rollback) is refused and a clock turned back
cannot revive an expired one. It never touches the network.

Layout::

    roots/<operator>-v<N>.root.cbor   signed roots (pinned, or learned by walking forward)
    state.json                        {operator: {"sequence": N, "newest_issued": tdate}}
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import EdlError, TrustListRollbackError
from .trust import TrustRoot, VerifiedTrustList, verify_root, verify_trust_list

__all__ = ["Pins", "default_home"]


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """``EDL_HOME``, else ``$XDG_DATA_HOME/edl``, else ``~/.local/share/edl``."""
    env = os.environ if env is None else env
    if env.get("EDL_HOME"):
        return Path(env["EDL_HOME"])
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]) / "edl"
    return Path.home() / ".local" / "share" / "edl"


class Pins:
    """The pinned roots and seen-state of one verifier."""

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = Path(home)

    def __repr__(self) -> str:
        return f"Pins({str(self.home)!r})"

    def _roots_dir(self) -> Path:
        return self.home / "roots"

    def pin(self, root_bytes: bytes) -> TrustRoot:
        """Pin a signed operator root (it must carry a threshold of its own signatures)."""
        root = verify_root(root_bytes)
        d = self._roots_dir()
        d.mkdir(parents=True, exist_ok=True, mode=0o755)
        (d / f"{root.name}-v{root.version}.root.cbor").write_bytes(root_bytes)
        return root

    def roots(self) -> list[TrustRoot]:
        d = self._roots_dir()
        if not d.is_dir():
            return []
        out = []
        for p in sorted(d.glob("*.root.cbor")):
            try:
                out.append(verify_root(p.read_bytes()))
            except EdlError:
                continue  # a damaged or under-signed file pins nothing
        return out

    def _state(self) -> dict[str, dict[str, object]]:
        try:
            state: dict[str, dict[str, object]] = json.loads((self.home / "state.json").read_text())
            return state
        except (FileNotFoundError, ValueError):
            return {}

    def last_sequence(self, provider: str) -> int | None:
        seq = self._state().get(provider, {}).get("sequence")
        return seq if isinstance(seq, int) else None

    def newest_issued(self, provider: str) -> _dt.datetime | None:
        text = self._state().get(provider, {}).get("newest_issued")
        return _dt.datetime.fromisoformat(text) if isinstance(text, str) else None

    def load_list(
        self,
        data: bytes,
        *,
        now: _dt.datetime,
        extra_roots: Sequence[TrustRoot] = (),
        record: bool = True,
    ) -> VerifiedTrustList:
        """Verify a trust list against the pinned (and ``extra_roots``) roots.

        Refuses a sequence older than the newest seen; measures expiry against the later of
        ``now`` and the newest issue time seen (a clock turned back does not revive a list).
        With ``record``, remembers the sequence, the issue time and any newer root learned.
        """
        roots = [*self.roots(), *extra_roots]
        if not roots:
            raise ValueError(
                "no trust-list root is pinned: run 'edl trust pin ROOT_FILE' (or pass --trust-root FILE)"
            )
        from .cbor import decode
        from .cose import decode_sign
        from .trust import TrustList

        provider = TrustList.from_value(decode(decode_sign(data).payload)).provider
        newest = self.newest_issued(provider)
        effective = max(now, newest) if newest is not None else now
        last = self.last_sequence(provider)
        verified = verify_trust_list(data, roots, now=effective, min_sequence=last)
        digest = hashlib.sha256(decode_sign(data).payload).hexdigest()
        seen = self._state().get(provider, {}).get("digest")
        if last is not None and verified.trust_list.sequence == last and seen not in (None, digest):
            raise TrustListRollbackError(
                f"trust list #{last} differs from the #{last} this device already has: "
                "refusing a substituted list"
            )
        if record:
            self._record(verified, digest)
        return verified

    def _record(self, verified: VerifiedTrustList, digest: str) -> None:
        tl = verified.trust_list
        state = self._state()
        entry = state.setdefault(tl.provider, {})
        seq = entry.get("sequence")
        entry["sequence"] = max(tl.sequence, seq if isinstance(seq, int) else 0)
        newest = self.newest_issued(tl.provider)
        entry["newest_issued"] = max(tl.issued, newest).isoformat() if newest else tl.issued.isoformat()
        if tl.sequence >= (seq if isinstance(seq, int) else 0):
            entry["digest"] = digest
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.home / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.home / "state.json")
        # Remember the root versions walked through, so older roots can no longer sign for us.
        d = self._roots_dir()
        d.mkdir(parents=True, exist_ok=True)
        for raw in verified.root_chain:
            from .cbor import decode
            from .cose import decode_sign

            root = TrustRoot.from_value(decode(decode_sign(raw).payload))
            if root.name == verified.root.name and root.version == verified.root.version:
                path = d / f"{root.name}-v{root.version}.root.cbor"
                if not path.exists():
                    path.write_bytes(raw)
