"""The trust-list operator's side: its root keys, the cities it lists, publishing and signing.

This module owns the operator's state in a key-store folder: creating the operator's keys and
signed root (k of n), importing city exports (refusing a city whose root changed without a
cross-certificate from a root already known), publishing a trust list with a sequence number
one higher than the last, co-signing towards the threshold, rotating the root set (the new
root signed by a threshold of the old keys and of the new ones), and saying what expires soon.
Private keys stay in the :class:`~edl.keys.KeyStore`. Time is an argument.

Folder layout (inside the key-store folder)::

    trust/operator.json           name, key names per root version, threshold, last sequence
    trust/roots/v<N>.root.cbor    every signed root since v1 (the chain a verifier walks)
    trust/cities/<CITY_ID>.cbor   the latest accepted export of each city
    trust/history/<SEQ>.trust.cbor  every published list
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cbor, cose
from ._files import damaged, read_state_json, write_atomic
from .city import verify_city_export
from .errors import KeyStoreError, TrustError
from .keys import Change, KeyStore, is_key_name
from .trust import (
    CityEntry,
    TrustList,
    TrustRoot,
    cosign_trust_list,
    operator_key_id,
    sign_root,
    sign_trust_list,
    verify_root,
)
from .x509 import load_certificate

__all__ = ["DEFAULT_LIST_DAYS", "DEFAULT_ROOT_DAYS", "Operator", "OperatorState"]

DEFAULT_LIST_DAYS = 7
DEFAULT_ROOT_DAYS = 5 * 365
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


@dataclass(frozen=True, slots=True)
class OperatorState:
    name: str
    root_version: int
    threshold: int
    keys: tuple[str, ...]  # key-store names of the current root's keys
    sequence: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "root_version": self.root_version,
            "threshold": self.threshold,
            "keys": list(self.keys),
            "sequence": self.sequence,
        }


class Operator:
    """Runs a trust-list operator from a key-store folder."""

    def __init__(self, folder: str | os.PathLike[str], keystore: KeyStore) -> None:
        self.folder = Path(folder)
        self.keystore = keystore
        self.dir = self.folder / "trust"

    def __repr__(self) -> str:
        return f"Operator({str(self.folder)!r})"

    # -- state -------------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.dir / "operator.json").exists()

    def state(self) -> OperatorState:
        path = self.dir / "operator.json"
        missing = KeyStoreError(
            f"no trust-list operator in {self.folder}: run edl trust init", code="no_operator"
        )
        obj = read_state_json(path, missing=missing)

        def number(v: Any, low: int) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and low <= v < 1 << 62

        if not (
            isinstance(obj, dict)
            and isinstance(obj.get("name"), str)
            and _NAME.match(obj["name"])
            and number(obj.get("root_version"), 1)
            and number(obj.get("threshold"), 1)
            and number(obj.get("sequence"), 0)
            and isinstance(obj.get("keys"), list)
            and 0 < len(obj["keys"]) <= 64
            and all(is_key_name(k) for k in obj["keys"])  # names the key store can hold
            and obj["threshold"] <= len(obj["keys"])
        ):
            raise damaged(path, "not {name, root_version, threshold, keys, sequence}")
        return OperatorState(
            obj["name"], obj["root_version"], obj["threshold"], tuple(obj["keys"]), obj["sequence"]
        )

    def _save(self, st: OperatorState, change: Change, *, new: bool = False) -> None:
        """Write ``operator.json``: the commit point of every changing operation (always last)."""
        change.write(
            self.dir / "operator.json", (json.dumps(st.to_json(), indent=2) + "\n").encode(), new=new
        )

    def root_chain(self) -> list[bytes]:
        st = self.state()
        return [(self.dir / "roots" / f"v{v}.root.cbor").read_bytes() for v in range(1, st.root_version + 1)]

    def root_file(self, version: int | None = None) -> Path:
        v = self.state().root_version if version is None else version
        return self.dir / "roots" / f"v{v}.root.cbor"

    def root(self) -> TrustRoot:
        return verify_root(self.root_file().read_bytes())

    # -- lifecycle ---------------------------------------------------------------------------

    def init(
        self,
        name: str,
        *,
        now: _dt.datetime,
        keys: int = 3,
        threshold: int = 2,
        days: int = DEFAULT_ROOT_DAYS,
        dry_run: bool = False,
    ) -> OperatorState:
        """Create ``keys`` operator keys and root v1 (threshold ``threshold``), signed by all."""
        if not _NAME.match(name):
            raise ValueError(f"invalid operator name {name!r}: letters, digits, '.', '_' and '-'")
        if not 1 <= threshold <= keys:
            raise ValueError(f"threshold {threshold} is impossible with {keys} key(s)")
        if self.exists():
            raise KeyStoreError(
                f"{self.folder} already holds trust-list operator {self.state().name}", code="operator_exists"
            )
        names = tuple(f"trust.{name}.v1.k{i}" for i in range(1, keys + 1))
        st = OperatorState(name=name, root_version=1, threshold=threshold, keys=names, sequence=0)
        self.keystore.check_unlock()  # a passphrase that does not open the keys here: nothing written
        if dry_run:
            return st
        for sub in ("roots", "cities", "history"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        with Change(self.keystore) as change:
            pubs = {n: change.fresh_key(n, in_use=set()) for n in names}
            root = TrustRoot(
                name=name,
                version=1,
                threshold=threshold,
                keys={operator_key_id(p): p for p in pubs.values()},
                expires=now + _dt.timedelta(days=days),
            )
            change.write(
                self.dir / "roots" / "v1.root.cbor", sign_root(root, [self.keystore.signer(n) for n in names])
            )
            self._save(st, change, new=True)
        return st

    def rotate_root(
        self,
        *,
        now: _dt.datetime,
        keys: int | None = None,
        threshold: int | None = None,
        days: int = DEFAULT_ROOT_DAYS,
        dry_run: bool = False,
    ) -> OperatorState:
        """New keys and root v(N+1), signed by every old key present here and every new key.

        Refuses (``insufficient_signatures``) when fewer than the old threshold of old keys are
        available; co-signers elsewhere cannot be gathered by this command yet.
        """
        st = self.state()
        n_keys = keys or len(st.keys)
        thr = threshold or st.threshold
        if not 1 <= thr <= n_keys:
            raise ValueError(f"threshold {thr} is impossible with {n_keys} key(s)")
        old_available = [k for k in st.keys if k in self.keystore]
        if len(old_available) < st.threshold:
            raise TrustError(
                f"rotating the root needs {st.threshold} of the current keys; "
                f"this key store holds {len(old_available)}",
                code="insufficient_signatures",
            )
        v = st.root_version + 1
        names = tuple(f"trust.{st.name}.v{v}.k{i}" for i in range(1, n_keys + 1))
        new_state = OperatorState(st.name, v, thr, names, st.sequence)
        old_signers = [self.keystore.signer(n) for n in old_available]  # the passphrase opens them
        if dry_run:
            return new_state
        with Change(self.keystore) as change:
            pubs = [change.fresh_key(n, in_use=set(st.keys)) for n in names]
            root = TrustRoot(
                name=st.name,
                version=v,
                threshold=thr,
                keys={operator_key_id(p): p for p in pubs},
                expires=now + _dt.timedelta(days=days),
            )
            signers = [*old_signers, *(self.keystore.signer(n) for n in names)]
            change.write(self.dir / "roots" / f"v{v}.root.cbor", sign_root(root, signers))
            self._save(new_state, change)
        return new_state

    # -- cities ------------------------------------------------------------------------------

    def city_ids(self) -> list[str]:
        d = self.dir / "cities"
        if not d.is_dir():
            return []
        ids = {p.name[: -len(".cbor")] for p in d.glob("*.cbor") if not p.name.endswith(".vical.cbor")}
        ids |= {p.name[: -len(".vical.cbor")] for p in d.glob("*.vical.cbor")}
        return sorted(ids)

    def city(self, city_id: str) -> CityEntry:
        vical = self.dir / "cities" / f"{city_id}.vical.cbor"
        if vical.exists():
            # Taken from a VICAL this operator verified when importing it (roots only).
            value = cbor.decode(vical.read_bytes(), what="imported authority")
            return CityEntry.from_value(value["entry"] if isinstance(value, dict) else None)
        return verify_city_export((self.dir / "cities" / f"{city_id}.cbor").read_bytes()).entry

    def add_vical(
        self, data: bytes, *, trusted_roots: list[Any], now: _dt.datetime, dry_run: bool = False
    ) -> list[CityEntry]:
        """Import every mDL issuing authority of a verified VICAL (ISO 18013-5 Annex C) as a
        listed authority with its roots (no document signers: mdocs carry theirs)."""
        from .vical import load_vical, vical_city_entries

        self.state()
        vical = load_vical(data, trusted_roots=trusted_roots, now=now)
        entries = []
        for raw in vical_city_entries(vical):
            entry = CityEntry(
                id=raw["id"].lower(), name=raw["name"], country=raw["country"], roots=tuple(raw["roots"])
            )
            if (self.dir / "cities" / f"{entry.id}.cbor").exists():
                raise TrustError(
                    f"{entry.id} is already listed from its own export; refusing to replace it from a VICAL",
                    code="city_exists",
                )
            entries.append(entry)
            if not dry_run:
                record = {
                    "type": "edl-city-vical",
                    "entry": entry.to_value(),
                    "vicalProvider": vical.provider,
                    "vicalIssueID": vical.issue_id,
                }
                write_atomic(self.dir / "cities" / f"{entry.id}.vical.cbor", cbor.encode(record))
        return entries

    def add(self, export: bytes, *, dry_run: bool = False) -> tuple[CityEntry, CityEntry | None]:
        """Accept a city export; returns (new entry, previous entry or None).

        A city already listed must sign its update with a root already known for it, or one
        linked to it by a cross-certificate; otherwise the update is refused."""
        self.state()
        first = verify_city_export(export)
        previous = None
        if (self.dir / "cities" / f"{first.entry.id}.vical.cbor").exists():
            raise TrustError(
                f"{first.entry.id} is listed from a VICAL; "
                f"remove trust/cities/{first.entry.id}.vical.cbor first",
                code="city_exists",
            )
        path = self.dir / "cities" / f"{first.entry.id}.cbor"
        if path.exists():
            previous = self.city(first.entry.id)
            verify_city_export(export, known_roots=previous.roots)
            if previous.country != first.entry.country:
                raise TrustError(
                    f"city {first.entry.id} changed country from {previous.country} to {first.entry.country}",
                    code="city_country_changed",
                )
        if not dry_run:
            write_atomic(path, export)
        return first.entry, previous

    # -- publishing --------------------------------------------------------------------------

    def build(self, *, now: _dt.datetime, days: int = DEFAULT_LIST_DAYS) -> TrustList:
        st = self.state()
        cities = []
        for cid in self.city_ids():
            e = self.city(cid)
            # Leave out certificates that have expired: a list only carries what can still verify.
            roots = tuple(r for r in e.roots if load_certificate(r).not_valid_after_utc >= now)
            signers = tuple(
                s for s in e.signers if load_certificate(s.certificate).not_valid_after_utc >= now
            )
            cities.append(
                CityEntry(
                    id=e.id,
                    name=e.name,
                    country=e.country,
                    roots=roots,
                    signers=signers,
                    revoked=e.revoked,
                    test=e.test,
                )
            )
        return TrustList(
            provider=st.name,
            sequence=st.sequence + 1,
            issued=now,
            next_update=now + _dt.timedelta(days=max(1, days // 2)),
            expires=now + _dt.timedelta(days=days),
            root_version=st.root_version,
            cities=tuple(cities),
        )

    def publish(
        self,
        *,
        now: _dt.datetime,
        days: int = DEFAULT_LIST_DAYS,
        sign_with: list[str] | None = None,
        dry_run: bool = False,
    ) -> tuple[TrustList, bytes]:
        """Build and sign the next list with the operator keys held here (or ``sign_with``)."""
        st = self.state()
        trust_list = self.build(now=now, days=days)
        names = sign_with if sign_with is not None else [k for k in st.keys if k in self.keystore]
        unknown = [n for n in names if n not in st.keys]
        if unknown:
            raise ValueError(f"not keys of the current root: {', '.join(unknown)}")
        if not names:
            raise KeyStoreError("none of the operator's keys is in this key store", code="no_operator_key")
        data = sign_trust_list(trust_list, [self.keystore.signer(n) for n in names], self.root_chain())
        if not dry_run:
            with Change(self.keystore) as change:
                change.write(self.dir / "history" / f"{trust_list.sequence}.trust.cbor", data)
                self._save(
                    OperatorState(st.name, st.root_version, st.threshold, st.keys, trust_list.sequence),
                    change,
                )
        return trust_list, data

    def cosign(self, data: bytes, *, now: _dt.datetime) -> tuple[bytes, list[str]]:
        """Add signatures by the operator keys held here that have not signed yet."""
        st = self.state()
        signed = cose.decode_sign(data)
        present = {s.kid for s in signed.signatures}
        added = []
        for n in st.keys:
            if n in self.keystore and operator_key_id(self.keystore.public_key(n)) not in present:
                data = cosign_trust_list(data, self.keystore.signer(n))
                added.append(n)
        return data, added

    def status(self, data: bytes, *, now: _dt.datetime) -> tuple[int, int, list[str]]:
        """(valid signatures, threshold, key ids still missing) of a published list."""
        root = self.root()
        signed = cose.decode_sign(data)
        good = []
        for sig in signed.signatures:
            kid = sig.kid
            if kid is not None and kid in root.keys and kid not in good:
                try:
                    signed.verify_signature(sig, root.keys[kid])
                except Exception:  # noqa: BLE001, S112 - an invalid signature does not count
                    continue
                good.append(kid)
        missing = [k.hex() for k in sorted(root.keys) if k not in good]
        return len(good), root.threshold, missing

    def check(self, *, now: _dt.datetime, warn_days: int = 30) -> list[dict[str, Any]]:
        """What expires soon among the root, the last published list and every listed city."""
        soon = now + _dt.timedelta(days=warn_days)
        out: list[dict[str, Any]] = []
        st = self.state()
        root = self.root()
        if root.expires <= soon:
            out.append(
                {
                    "what": f"trust-list root v{root.version}",
                    "expires": root.expires,
                    "do": "edl trust rotate-root",
                }
            )
        last = self.dir / "history" / f"{st.sequence}.trust.cbor"
        if st.sequence == 0 or not last.exists():
            out.append({"what": "no trust list published yet", "expires": None, "do": "edl trust publish"})
        else:
            # Our own published file: read it as it is (it may have expired; that is the point).
            tl = TrustList.from_value(cbor.decode(cose.decode_sign(last.read_bytes()).payload))
            # Lists live days, not months: flag one that is due (past nextUpdate) or nearly expired.
            if tl.next_update <= now or tl.expires <= now + _dt.timedelta(days=2):
                out.append(
                    {"what": f"trust list #{st.sequence}", "expires": tl.expires, "do": "edl trust publish"}
                )
        for cid in self.city_ids():
            e = self.city(cid)
            for r in e.roots:
                c = load_certificate(r)
                if c.not_valid_after_utc <= soon:
                    out.append(
                        {
                            "what": f"{cid} root {c.subject.rfc4514_string()}",
                            "expires": c.not_valid_after_utc,
                            "do": f"edl city renew-root {cid}; then edl city export + edl trust add",
                        }
                    )
            current = [s for s in e.signers if s.status == "current"]
            if not current:
                out.append(
                    {
                        "what": f"{cid} has no current document signer",
                        "expires": None,
                        "do": f"edl city rotate-signer {cid}; then edl city export + edl trust add",
                    }
                )
            for s in current:
                c = load_certificate(s.certificate)
                if c.not_valid_after_utc <= soon:
                    out.append(
                        {
                            "what": f"{cid} document signer {s.kid.hex()}",
                            "expires": c.not_valid_after_utc,
                            "do": f"edl city rotate-signer {cid}; then edl city export + edl trust add",
                        }
                    )
        return out
