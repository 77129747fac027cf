"""A city's PKI, kept in a key-store folder: its root (IACA), its document signers, rotation.

This module owns a city's lifecycle as ISO 18013-5 Annex B lays it out: create the root and
the first document signer (DS), rotate the DS (the previous one is *retired*: it signs nothing
more, and what it signed still verifies while its certificate is valid), revoke a DS after a
compromise, renew the root (the new root is cross-signed by the old one and both are listed
during the overlap), and export the public material for a trust-list operator, signed by the
city's current root. Private keys stay in the :class:`~edl.keys.KeyStore`; the folder holds
only public certificates and a state file. Time is an argument.

Folder layout (inside the key-store folder)::

    cities/<CITY_ID>/city.json        state: names, roots and signers with their status
    cities/<CITY_ID>/root-<n>.pem     root certificates
    cities/<CITY_ID>/cross-<n>.pem    root n signed by root n-1
    cities/<CITY_ID>/ds-<kid>.pem     document-signer certificates
    cities/<CITY_ID>/ss-<kid>.pem     status-signer certificates (``specs/status-list.md`` §4)
    cities/<CITY_ID>/status/          the city's status bits, index allocation and log
                                      (:mod:`edl.city_status`)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
from ._files import damaged, read_state_json
from .errors import (
    CRYPTOGRAPHY_LOAD_ERRORS,
    KeyStoreError,
    MalformedError,
    SignatureError,
    UntrustedIssuerError,
)
from .issue import DocumentSigner
from .keys import Change, KeyStore, is_key_name
from .trust import CityEntry, SignerEntry
from .x509 import (
    CA_KEY_USAGE,
    RevokedSigner,
    certificate_der,
    der_length,
    key_id,
    load_certificate,
    make_document_signer,
    make_iaca,
    make_status_signer,
)

__all__ = [
    "DEFAULT_DS_DAYS",
    "DEFAULT_ROOT_DAYS",
    "CityAdmin",
    "CityExport",
    "CityState",
    "verify_city_export",
]

DEFAULT_ROOT_DAYS = 10 * 365
DEFAULT_DS_DAYS = 365
DEFAULT_STATUS_SIGNER_DAYS = 365
CONTENT_TYPE_EXPORT = "application/edl-city+cbor"
_CITY_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}\Z")
_COUNTRY = re.compile(r"[A-Z]{2}\Z")


def check_city_id(city_id: str) -> str:
    if not _CITY_ID.match(city_id):
        raise ValueError(f"invalid city id {city_id!r}: lower-case letters, digits and '-' (e.g. cn-qingdao)")
    return city_id


@dataclass(frozen=True, slots=True)
class CityState:
    """A city's public state (what ``city.json`` holds)."""

    id: str
    name: str
    country: str
    state: str | None
    roots: tuple[dict[str, Any], ...]  # {"n", "file", "key", "status": current|retired, "cross"?}
    signers: tuple[dict[str, Any], ...]  # {"kid", "file", "key", "root", "status": current|retired|revoked}
    status_signers: tuple[dict[str, Any], ...] = ()  # as signers; absent from city.json before #10
    capacity: int | None = None  # expected licences (sizes the status lists); None: the default
    test: bool = False  # a demo or test city: its licences are stamped TEST by verifiers

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "state": self.state,
            "roots": list(self.roots),
            "signers": list(self.signers),
        }
        if self.status_signers:
            out["status_signers"] = list(self.status_signers)
        if self.capacity is not None:
            out["capacity"] = self.capacity
        if self.test:
            out["test"] = True
        return out

    @classmethod
    def from_json(cls, obj: Any, *, path: str | os.PathLike[str] = "city.json") -> CityState:
        """Read ``city.json`` strictly: any other shape is a damaged key store (``KeyStoreError``)."""

        def text(v: Any) -> bool:
            return isinstance(v, str) and 0 < len(v) <= 256

        def number(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and 0 < v < 1 << 31

        def filename(v: Any) -> bool:  # a plain name inside the city's folder, never a path
            return text(v) and "/" not in v and "\\" not in v and v not in (".", "..")

        if not isinstance(obj, dict):
            raise damaged(path, "not a JSON object")
        for field, ok in (("id", text), ("name", text), ("country", text)):
            if not ok(obj.get(field)):
                raise damaged(path, f"{field} is missing or not text")
        if obj.get("state") is not None and not text(obj["state"]):
            raise damaged(path, "state is not text")
        roots, signers = obj.get("roots"), obj.get("signers")
        if not isinstance(roots, list) or not roots or not isinstance(signers, list):
            raise damaged(path, "roots and signers must be lists")
        for r in roots:
            if not (
                isinstance(r, dict)
                and number(r.get("n"))
                and filename(r.get("file"))
                and is_key_name(r.get("key"))
                and r.get("status") in ("current", "retired")
                and (r.get("cross") is None or filename(r["cross"]))
            ):
                raise damaged(path, "a root entry is not {n, file, key, status[, cross]}")
        if sum(r["status"] == "current" for r in roots) != 1:
            raise damaged(path, "it must have exactly one current root")
        for sg in signers:
            if not (
                isinstance(sg, dict)
                and text(sg.get("kid"))
                and filename(sg.get("file"))
                and is_key_name(sg.get("key"))
                and number(sg.get("root"))
                and sg.get("status") in ("current", "retired", "revoked")
            ):
                raise damaged(path, "a signer entry is not {kid, file, key, root, status}")
        # Added by issue #10; a city.json written before has neither (still readable).
        status_signers = obj.get("status_signers", [])
        if not isinstance(status_signers, list):
            raise damaged(path, "status_signers must be a list")
        for sg in status_signers:
            if not (
                isinstance(sg, dict)
                and text(sg.get("kid"))
                and filename(sg.get("file"))
                and is_key_name(sg.get("key"))
                and number(sg.get("root"))
                and sg.get("status") in ("current", "retired", "revoked")
            ):
                raise damaged(path, "a status signer entry is not {kid, file, key, root, status}")
        if sum(sg["status"] == "current" for sg in status_signers) > 1:
            raise damaged(path, "it has more than one current status signer")
        capacity = obj.get("capacity")
        if capacity is not None and not number(capacity):
            raise damaged(path, "capacity is not a positive number")
        if obj.get("test", False) not in (True, False):
            raise damaged(path, "test is not true or false")
        return cls(
            id=obj["id"],
            name=obj["name"],
            country=obj["country"],
            state=obj.get("state"),
            roots=tuple(roots),
            signers=tuple(signers),
            status_signers=tuple(status_signers),
            capacity=capacity,
            test=obj.get("test", False) is True,
        )

    def current_root(self) -> dict[str, Any]:
        return next(r for r in self.roots if r["status"] == "current")

    def current_signer(self) -> dict[str, Any] | None:
        return next((s for s in self.signers if s["status"] == "current"), None)

    def current_status_signer(self) -> dict[str, Any] | None:
        return next((s for s in self.status_signers if s["status"] == "current"), None)


@dataclass(frozen=True, slots=True)
class CityExport:
    """A verified city export: the entry for a trust list, the root that signed it, and the
    cross-certificates linking its roots."""

    entry: CityEntry
    signed_by: bytes
    cross_certificates: tuple[bytes, ...]


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class _SignerKind:
    """A kind of certificate a city root issues to a key of the city's: document signers (the
    licences) and status signers (the status lists) rotate alike."""

    field: str  # the CityState tuple that lists them
    key_prefix: str  # key names: <city>.<prefix>-<n>
    file_prefix: str  # certificate files: <prefix>-<kid>.pem
    make: Callable[..., x509.Certificate]
    label: str  # in the certificate's common name
    what: str  # in messages


_DS = _SignerKind("signers", "ds", "ds", make_document_signer, "DS", "document signer")
_STATUS = _SignerKind("status_signers", "status", "ss", make_status_signer, "status lists", "status signer")


def _with_entries(st: CityState, kind: _SignerKind, entries: tuple[dict[str, Any], ...]) -> CityState:
    if kind.field == "signers":
        return dataclasses.replace(st, signers=entries)
    return dataclasses.replace(st, status_signers=entries)


class CityAdmin:
    """Runs one key-store folder's cities. ``keystore`` holds the private keys."""

    def __init__(self, folder: str | os.PathLike[str], keystore: KeyStore) -> None:
        self.folder = Path(folder)
        self.keystore = keystore

    def __repr__(self) -> str:
        return f"CityAdmin({str(self.folder)!r})"

    def _dir(self, city_id: str) -> Path:
        return self.folder / "cities" / check_city_id(city_id)

    def exists(self, city_id: str) -> bool:
        return (self._dir(city_id) / "city.json").exists()

    def load(self, city_id: str) -> CityState:
        path = self._dir(city_id) / "city.json"
        missing = KeyStoreError(f"no city {city_id} in {self.folder}", code="unknown_city")
        return CityState.from_json(read_state_json(path, missing=missing), path=path)

    def _save(self, state: CityState, change: Change, *, new: bool = False) -> None:
        """Write ``city.json``: the commit point of every changing operation (always last)."""
        body = json.dumps(state.to_json(), indent=2, ensure_ascii=False) + "\n"
        change.write(self._dir(state.id) / "city.json", body.encode(), new=new)

    def _in_use(self) -> set[str]:
        """Every key name a city of this folder refers to (the rest are orphans)."""
        names: set[str] = set()
        d = self.folder / "cities"
        for city_dir in sorted(d.iterdir()) if d.is_dir() else []:
            if (city_dir / "city.json").is_file():
                st = self.load(city_dir.name)
                names.update(e["key"] for e in (*st.roots, *st.signers, *st.status_signers))
        return names

    def certificate(self, city_id: str, file: str) -> x509.Certificate:
        path = self._dir(city_id) / file
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
            # Parsed whole here (key, extensions, names), so a damaged file fails at this
            # boundary as a KeyStoreError and never later inside issuing (found by fuzz_files).
            return load_certificate(certificate_der(cert))
        except MalformedError as e:
            raise KeyStoreError(
                f"{path} is not a readable certificate ({e.message}): "
                "restore it from a backup of the key store"
            ) from None
        except OSError as e:
            raise KeyStoreError(f"cannot read {path}: {e.strerror or e}") from None
        except CRYPTOGRAPHY_LOAD_ERRORS:
            raise KeyStoreError(
                f"{path} is not a readable PEM certificate: restore it from a backup of the key store"
            ) from None

    # -- lifecycle -------------------------------------------------------------------------

    def init(
        self,
        city_id: str,
        *,
        name: str,
        country: str,
        now: _dt.datetime,
        state: str | None = None,
        root_days: int = DEFAULT_ROOT_DAYS,
        ds_days: int = DEFAULT_DS_DAYS,
        capacity: int | None = None,
        test: bool = False,
        dry_run: bool = False,
    ) -> CityState:
        """Create the city's root, its first document signer and its first status signer.
        ``capacity``: the licences the city expects (its status lists hold 1.5 × that;
        :func:`edl.status_index.list_size_for`); ``None`` keeps the default. ``test`` marks a
        demo or test city: the trust list says so, and verifiers stamp its licences TEST."""
        check_city_id(city_id)
        if capacity is not None:
            from .status_index import list_size_for

            list_size_for(capacity)  # ValueError when it cannot be
        if not _COUNTRY.match(country):
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code such as CN, not {country!r}")
        if self.exists(city_id):
            raise KeyStoreError(f"city {city_id} already exists in {self.folder}", code="city_exists")
        # A passphrase that does not open the keys already here is refused before anything.
        self.keystore.check_unlock()
        root_key_name = f"{city_id}.root-1"
        root_entry: dict[str, Any] = {"n": 1, "file": "root-1.pem", "key": root_key_name, "status": "current"}
        planned = CityState(
            id=city_id,
            name=name,
            country=country,
            state=state,
            roots=(root_entry,),
            signers=(),
            capacity=capacity,
            test=test,
        )
        if dry_run:
            return self._planned(_STATUS, self._planned(_DS, planned))
        d = self._dir(city_id)
        d.mkdir(parents=True, exist_ok=True)  # (a folder without city.json is a run that stopped)
        in_use = self._in_use()
        with Change(self.keystore) as change:
            pub = change.fresh_key(root_key_name, in_use=in_use)
            root = self._make_root(
                root_key_name, pub, name=name, country=country, state=state, now=now, days=root_days, n=1
            )
            change.write(d / "root-1.pem", _pem(root))
            new = self._new(
                _DS, planned, root_entry, root, now=now, days=ds_days, change=change, in_use=in_use
            )
            new = self._new(
                _STATUS,
                new,
                root_entry,
                root,
                now=now,
                days=DEFAULT_STATUS_SIGNER_DAYS,
                change=change,
                in_use=in_use,
            )
            self._save(new, change, new=True)
        return new

    def status_signer(self, city_id: str) -> tuple[cose.Signer, x509.Certificate]:
        """The current status signer's key and certificate (what signs the city's status lists)."""
        st = self.load(city_id)
        cur = st.current_status_signer()
        if cur is None:
            raise KeyStoreError(
                f"city {city_id} has no status signer: run edl city rotate-status-signer {city_id}",
                code="no_status_signer",
            )
        return self.keystore.signer(cur["key"]), self.certificate(city_id, cur["file"])

    def _make_root(
        self,
        key_name: str,
        pub: Any,
        *,
        name: str,
        country: str,
        state: str | None,
        now: _dt.datetime,
        days: int,
        n: int,
    ) -> x509.Certificate:
        # The certificate is built with a throwaway builder signed through the key store.
        return _sign_certificate_with(
            self.keystore.signer(key_name),
            lambda key: make_iaca(
                key,
                public_key=pub,
                common_name=f"{name} IACA {n}",
                country=country,
                state=state,
                organization=name,
                not_before=now - _dt.timedelta(minutes=5),
                not_after=now + _dt.timedelta(days=days),
            ),
        )

    def rotate_signer(
        self, city_id: str, *, now: _dt.datetime, ds_days: int = DEFAULT_DS_DAYS, dry_run: bool = False
    ) -> CityState:
        """A new document signer signs from now on; the previous one is retired."""
        return self._rotate(_DS, city_id, now=now, days=ds_days, dry_run=dry_run)

    def rotate_status_signer(
        self,
        city_id: str,
        *,
        now: _dt.datetime,
        days: int = DEFAULT_STATUS_SIGNER_DAYS,
        dry_run: bool = False,
    ) -> CityState:
        """A new status signer signs the city's status lists from now on; the previous one is
        retired. A key store made before status lists gains its first one this way."""
        return self._rotate(_STATUS, city_id, now=now, days=days, dry_run=dry_run)

    def _rotate(
        self, kind: _SignerKind, city_id: str, *, now: _dt.datetime, days: int, dry_run: bool
    ) -> CityState:
        st = self.load(city_id)
        root_entry = st.current_root()
        root_cert = self.certificate(city_id, root_entry["file"])
        self.keystore.signer(root_entry["key"])  # the passphrase opens the root key (also dry-run)
        if dry_run:
            return self._planned(kind, st)
        with Change(self.keystore) as change:
            new = self._new(
                kind, st, root_entry, root_cert, now=now, days=days, change=change, in_use=self._in_use()
            )
            self._save(new, change)
        return new

    @staticmethod
    def _planned(kind: _SignerKind, st: CityState) -> CityState:
        """What a rotation would make (a dry run): the current one retired, a new one planned."""
        entries: tuple[dict[str, Any], ...] = getattr(st, kind.field)
        olds = tuple(dict(e, status="retired") if e["status"] == "current" else e for e in entries)
        planned = {
            "kid": "(new)",
            "file": "(new)",
            "key": f"{st.id}.{kind.key_prefix}-{len(entries) + 1}",
            "root": st.current_root()["n"],
            "status": "current",
        }
        return _with_entries(st, kind, (*olds, planned))

    def _new(
        self,
        kind: _SignerKind,
        st: CityState,
        root_entry: dict[str, Any],
        root_cert: x509.Certificate,
        *,
        now: _dt.datetime,
        days: int,
        change: Change,
        in_use: set[str],
    ) -> CityState:
        """``st`` with a new current signer of ``kind`` (key and certificate through ``change``)."""
        entries: tuple[dict[str, Any], ...] = getattr(st, kind.field)
        n = len(entries) + 1
        key_name = f"{st.id}.{kind.key_prefix}-{n}"
        end = min(now + _dt.timedelta(days=days), root_cert.not_valid_after_utc)
        pub = change.fresh_key(key_name, in_use=in_use)
        if not isinstance(pub, ec.EllipticCurvePublicKey):
            raise KeyStoreError(f"{kind.what} keys are elliptic-curve keys")
        cert = _sign_certificate_with(
            self.keystore.signer(root_entry["key"]),
            lambda key: kind.make(
                key,
                root_cert,
                pub,
                common_name=f"{st.name} {kind.label} {n}",
                state=st.state,
                not_before=now - _dt.timedelta(minutes=5),
                not_after=end,
            ),
        )
        kid = key_id(certificate_der(cert)).hex()
        change.write(self._dir(st.id) / f"{kind.file_prefix}-{kid}.pem", _pem(cert))
        olds = tuple(dict(e, status="retired") if e["status"] == "current" else e for e in entries)
        entry = {
            "kid": kid,
            "file": f"{kind.file_prefix}-{kid}.pem",
            "key": key_name,
            "root": root_entry["n"],
            "status": "current",
        }
        return _with_entries(st, kind, (*olds, entry))

    def revoke_signer(self, city_id: str, kid_hex: str, *, dry_run: bool = False) -> CityState:
        """Mark a document signer revoked: everything it signed is red once the next trust
        list is published. A revoked current signer leaves the city without one until
        ``rotate_signer``. A status signer's key id revokes that status signer the same way
        (every list it signed is refused, ``status_signer_revoked``; ``rotate_status_signer``
        makes the next)."""
        st = self.load(city_id)
        kid_hex = kid_hex.lower()
        in_signers = any(s["kid"] == kid_hex for s in st.signers)
        if not in_signers and not any(s["kid"] == kid_hex for s in st.status_signers):
            raise KeyStoreError(f"city {city_id} has no signer {kid_hex}", code="unknown_signer")
        self.keystore.check_unlock()  # changing commands check the passphrase, also in a dry run
        if in_signers:
            signers = tuple(dict(s, status="revoked") if s["kid"] == kid_hex else s for s in st.signers)
            new = dataclasses.replace(st, signers=signers)
        else:
            revoked = tuple(
                dict(s, status="revoked") if s["kid"] == kid_hex else s for s in st.status_signers
            )
            new = dataclasses.replace(st, status_signers=revoked)
        if not dry_run:
            with Change(self.keystore) as change:
                self._save(new, change)
        return new

    def renew_root(
        self, city_id: str, *, now: _dt.datetime, root_days: int = DEFAULT_ROOT_DAYS, dry_run: bool = False
    ) -> CityState:
        """A new root, cross-signed by the current one; the old root is retired (still listed
        until it expires, so what its signers signed keeps verifying)."""
        st = self.load(city_id)
        old = st.current_root()
        n = max(r["n"] for r in st.roots) + 1
        key_name = f"{city_id}.root-{n}"
        roots = tuple(dict(r, status="retired") if r["status"] == "current" else r for r in st.roots)
        entry = {
            "n": n,
            "file": f"root-{n}.pem",
            "key": key_name,
            "status": "current",
            "cross": f"cross-{n}.pem",
        }
        new = dataclasses.replace(st, roots=(*roots, entry))
        old_signer = self.keystore.signer(old["key"])  # the passphrase opens the old root (also dry-run)
        if dry_run:
            return new
        old_cert = self.certificate(city_id, old["file"])
        with Change(self.keystore) as change:
            pub = change.fresh_key(key_name, in_use=self._in_use())
            root = self._make_root(
                key_name, pub, name=st.name, country=st.country, state=st.state, now=now, days=root_days, n=n
            )
            cross = _sign_certificate_with(old_signer, lambda key: _cross_certificate(key, old_cert, root))
            change.write(self._dir(city_id) / f"root-{n}.pem", _pem(root))
            change.write(self._dir(city_id) / f"cross-{n}.pem", _pem(cross))
            self._save(new, change)
        return new

    # -- use ---------------------------------------------------------------------------------

    def document_signer(self, city_id: str) -> DocumentSigner:
        """The current DS key and certificate, ready for :func:`~edl.issue.issue_mdoc`."""
        st = self.load(city_id)
        cur = st.current_signer()
        if cur is None:
            raise KeyStoreError(
                f"city {city_id} has no current document signer: run rotate-signer", code="no_signer"
            )
        return DocumentSigner(self.keystore.signer(cur["key"]), self.certificate(city_id, cur["file"]))

    def entry(self, city_id: str, *, now: _dt.datetime | None = None) -> CityEntry:
        """The city as a trust list lists it (expired certificates left out when ``now`` is given)."""
        st = self.load(city_id)

        def alive(cert: x509.Certificate) -> bool:
            return now is None or cert.not_valid_after_utc >= now

        roots = [self.certificate(city_id, r["file"]) for r in st.roots]
        signers = []
        revoked = []
        for s in st.signers:
            cert = self.certificate(city_id, s["file"])
            if s["status"] == "revoked":
                # Named by its public key and issuer + serial, not only by the hash of its bytes.
                revoked.append(RevokedSigner.of(cert))
                continue
            if alive(cert):
                signers.append(SignerEntry(certificate=certificate_der(cert), status=s["status"]))
        for s in st.status_signers:  # listed only when revoked (a status list carries its signer)
            if s["status"] == "revoked":
                revoked.append(RevokedSigner.of(self.certificate(city_id, s["file"])))
        return CityEntry(
            id=st.id,
            name=st.name,
            country=st.country,
            roots=tuple(certificate_der(r) for r in roots if alive(r)),
            signers=tuple(signers),
            revoked=tuple(revoked),
            test=st.test,
        )

    def export(self, city_id: str, *, now: _dt.datetime | None = None) -> bytes:
        """Public material for the trust-list operator, signed by the current root."""
        st = self.load(city_id)
        root = st.current_root()
        value = {
            "type": "edl-city-export",
            "city": self.entry(city_id, now=now).to_value(),
            "crossCertificates": [
                certificate_der(self.certificate(city_id, r["cross"])) for r in st.roots if r.get("cross")
            ],
        }
        root_der = certificate_der(self.certificate(city_id, root["file"]))
        return cose.sign1(
            self.keystore.signer(root["key"]),
            cbor.encode(value),
            protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE_EXPORT},
            unprotected={cose.Header.X5CHAIN: root_der},
        )

    def check(self, city_id: str, *, now: _dt.datetime, warn_days: int = 30) -> list[dict[str, Any]]:
        """What expires soon, with what to do about it."""
        st = self.load(city_id)
        findings: list[dict[str, Any]] = []
        soon = now + _dt.timedelta(days=warn_days)
        root = st.current_root()
        rc = self.certificate(city_id, root["file"])
        if rc.not_valid_after_utc <= soon:
            findings.append(
                {
                    "city": city_id,
                    "what": f"root {root['n']}",
                    "expires": rc.not_valid_after_utc,
                    "do": f"edl city renew-root {city_id}",
                }
            )
        for kind, missing, command in (
            (_DS, "no current document signer", "rotate-signer"),
            (_STATUS, "no status signer (its status lists cannot be published)", "rotate-status-signer"),
        ):
            entries: tuple[dict[str, Any], ...] = getattr(st, kind.field)
            cur = next((e for e in entries if e["status"] == "current"), None)
            expires = None if cur is None else self.certificate(city_id, cur["file"]).not_valid_after_utc
            if cur is None or (expires is not None and expires <= soon):
                findings.append(
                    {
                        "city": city_id,
                        "what": missing if cur is None else f"{kind.what} {cur['kid']}",
                        "expires": expires,
                        "do": f"edl city {command} {city_id}",
                    }
                )
        return findings

    def cities(self) -> list[str]:
        base = self.folder / "cities"
        return sorted(p.name for p in base.iterdir() if (p / "city.json").exists()) if base.is_dir() else []


def verify_city_export(data: bytes, *, known_roots: Sequence[bytes] = ()) -> CityExport:
    """Check a city export: signed by the root in its x5chain, that root listed in the export.

    With ``known_roots`` (the roots already trusted for this city), the signing root must be
    one of them, or be linked to one by a cross-certificate in the export: an export signed
    by an unknown root is refused (a city root swapped in by an attacker).
    """
    msg = cose.decode_sign1(data, what="city export")
    if msg.protected.get(cose.Header.CONTENT_TYPE) != CONTENT_TYPE_EXPORT:
        raise MalformedError("not a city export")
    x5 = msg.header(cose.Header.X5CHAIN)
    if not isinstance(x5, bytes):
        raise MalformedError("a city export names its signing root in x5chain")
    signer_cert = load_certificate(x5)
    msg.verify(signer_cert.public_key())  # type: ignore[arg-type]
    if msg.payload is None:
        raise MalformedError("a city export carries its content")
    value = cbor.decode(msg.payload, what="city export")
    if not isinstance(value, dict) or value.get("type") != "edl-city-export":
        raise MalformedError("not a city export")
    entry = CityEntry.from_value(value.get("city"))
    cross = value.get("crossCertificates", [])
    if not isinstance(cross, list) or not all(isinstance(c, bytes) for c in cross):
        raise MalformedError("crossCertificates must be certificates")
    if x5 not in entry.roots:
        raise UntrustedIssuerError("the export is signed by a root it does not list")
    if known_roots and x5 not in known_roots and not _linked(x5, list(known_roots), cross):
        raise UntrustedIssuerError(
            "the export is signed by a root that is not linked to the city's known roots "
            "(no cross-certificate from a known root): refusing a swapped city root",
            code="city_root_unlinked",
        )
    return CityExport(entry=entry, signed_by=x5, cross_certificates=tuple(cross))


def _linked(new_root: bytes, known: list[bytes], cross: list[bytes]) -> bool:
    """True when a chain of cross-certificates leads from a known root to ``new_root``'s key."""
    reached = list(known)
    target = load_certificate(new_root)
    target_key = target.public_key()
    for _ in range(len(cross) + 1):
        grew = False
        for c_der in cross:
            c = load_certificate(c_der)
            for k_der in list(reached):
                k = load_certificate(k_der)
                try:
                    c.verify_directly_issued_by(k)
                except Exception:  # noqa: BLE001, S112 - not issued by this one; try the next
                    continue
                if c.public_key() == target_key:
                    return True
                # the cross-certificate vouches for its key: its self-signed root is reached too
                if c_der not in reached:
                    reached.append(c_der)
                    grew = True
        if not grew:
            return False
    return False


def _cross_certificate(
    old_key: Any, old_root: x509.Certificate, new_root: x509.Certificate
) -> x509.Certificate:
    """The new root's subject and key, certified by the old root (a CA certificate)."""
    from cryptography.hazmat.primitives import hashes

    builder = (
        x509.CertificateBuilder()
        .subject_name(new_root.subject)
        .issuer_name(old_root.subject)
        .public_key(new_root.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(new_root.not_valid_before_utc)
        .not_valid_after(min(new_root.not_valid_after_utc, old_root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
    )
    return builder.sign(old_key, hashes.SHA256())


def _sign_certificate_with(signer: cose.Signer, build: Any) -> x509.Certificate:
    """Build a certificate with ``build(private_key)`` using ``signer``.

    ``cryptography`` signs certificates only with its own private-key objects, so for key
    stores that expose one (:class:`~edl.cose.KeySigner`) it is used directly; for others (an
    HSM), the TBS certificate is signed through the :class:`~edl.cose.Signer` and assembled
    here (see :func:`_assemble_with_signer`).
    """
    if isinstance(signer, cose.KeySigner):
        cert: x509.Certificate = build(signer._key)
        return cert
    if signer.algorithm is not cose.Algorithm.ES256:
        raise KeyStoreError("certificates signed through an external key store need a P-256 key")
    return _assemble_with_signer(signer, build)


def _assemble_with_signer(signer: cose.Signer, build: Any) -> x509.Certificate:
    """Sign a certificate through an external signer: build it with a temporary key to get
    the TBS layout, then re-sign the TBS bytes with ``signer`` and splice in the signature."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    temp = ec.generate_private_key(ec.SECP256R1())
    draft: x509.Certificate = build(temp)
    tbs = draft.tbs_certificate_bytes
    raw = signer.sign(tbs)
    size = len(raw) // 2
    sig_der = encode_dss_signature(int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big"))
    der = certificate_der(draft)
    # Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }
    alg_start = der.index(tbs) + len(tbs)
    old_sig_len = len(draft.signature)
    alg = der[alg_start : len(der) - _bitstring_len(old_sig_len)]
    body = tbs + alg + b"\x03" + der_length(len(sig_der) + 1) + b"\x00" + sig_der
    cert = x509.load_der_x509_certificate(b"\x30" + der_length(len(body)) + body)
    try:
        cose.verify_signature(signer.public_key(), signer.algorithm, tbs, raw)
    except SignatureError as e:  # pragma: no cover - the signer misbehaved
        raise KeyStoreError("the key store produced an invalid certificate signature") from e
    return cert


def _bitstring_len(sig_len: int) -> int:
    return 1 + len(der_length(sig_len + 1)) + 1 + sig_len
