"""Trust lists: every city's keys in one threshold-signed, expiring, versioned list.

This module owns the trust-list format (``specs/trust-list.md``) and its rules, modelled on
AAMVA's VICAL and on TUF's root rotation:

* a :class:`TrustRoot` names the operator's keys and how many of them must sign
  (``threshold``); a new root version must be signed by a threshold of the old keys **and**
  of the new ones (:func:`update_root`), so one stolen key cannot take over;
* a :class:`TrustList` carries provider, issue time, a strictly increasing ``sequence``,
  ``nextUpdate`` and ``expires``, and per city its root certificates, its document-signer
  certificates (current and retired, with their key ids) and its revoked signer key ids;
* the published form is a COSE_Sign (one signature per operator key) whose unprotected
  header also carries the chain of signed roots since version 1, so a verifier pinned to
  an old root can walk forward offline.

:func:`verify_trust_list` is pure: (bytes, pinned roots, time, last sequence seen) → a
verified list, or a :class:`~edl.errors.TrustError` with a stable code. It does not keep
state on disk (``edl.pins`` does) and never touches the network.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import cbor, cose
from .errors import (
    EdlError,
    MalformedError,
    SignatureError,
    ThresholdError,
    TrustError,
    TrustListExpiredError,
    TrustListRollbackError,
    UnsupportedError,
    safe_repr,
)
from .x509 import RevokedSigner, TrustAnchors, certificate_der, key_id, load_certificate, signer_identity

__all__ = [
    "CityEntry",
    "SignerEntry",
    "TrustList",
    "TrustRoot",
    "VerifiedTrustList",
    "cosign_trust_list",
    "operator_key_id",
    "sign_root",
    "sign_trust_list",
    "update_root",
    "verify_root",
    "verify_trust_list",
]

CONTENT_TYPE_LIST = "application/edl-trust-list+cbor"
CONTENT_TYPE_ROOT = "application/edl-trust-root+cbor"
ROOTS_HEADER = "edl-roots"
"""Unprotected header of a published list: the signed roots, version 1 first."""

MAX_LIST_SIZE = 4 << 20
MAX_ROOT_CHAIN = 64
"""Most signed roots a list's ``edl-roots`` header may carry (one per root version)."""
MAX_ROOT_KEYS = 32
"""Most keys an operator root may list."""
MAX_SIGNATURES = 32
"""Most signatures a trust list or root may carry; each key's signature is tried once."""
CLOCK_SKEW = _dt.timedelta(minutes=5)
SIGNER_STATES = ("current", "retired")


def operator_key_id(key: cose.PublicKey) -> bytes:
    """Key id of an operator key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo."""
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()[:8]


def _tdate(value: Any, what: str) -> _dt.datetime:
    if not isinstance(value, _dt.datetime) or value.utcoffset() is None:
        raise MalformedError(f"{what} must be a tdate")
    return value


def _uint(value: Any, what: str) -> int:
    # Bounded: versions and sequences go into messages, and str() of a CBOR bignum raises.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise MalformedError(f"{what} must be an unsigned integer below 2^63")
    return value


def _cert_country(der: bytes) -> str | None:
    from cryptography.x509.oid import NameOID

    attrs = load_certificate(der).subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(attrs[0].value) if attrs else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{what} must be non-empty text")
    return value


# --- the operator's root ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustRoot:
    """The operator's root of trust: its keys (by key id), the threshold, a version, an expiry."""

    name: str
    version: int
    threshold: int
    keys: Mapping[bytes, cose.PublicKey]
    expires: _dt.datetime

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("root versions start at 1")
        if not 1 <= self.threshold <= len(self.keys):
            raise ValueError(f"threshold {self.threshold} is impossible with {len(self.keys)} key(s)")
        for kid, key in self.keys.items():
            if operator_key_id(key) != kid:
                raise ValueError("a root key is listed under another key's id")

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex) over the sorted SHA-256 digests of the root's SubjectPublicKeyInfos.

        What a verifier remembers about an operator is keyed by this, never by the operator's
        name (a name is a label anyone can give a root; two operators may share one)."""
        spkis = sorted(
            hashlib.sha256(
                k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            ).digest()
            for k in self.keys.values()
        )
        return hashlib.sha256(b"".join(spkis)).hexdigest()

    def to_value(self) -> dict[str, Any]:
        return {
            "type": "edl-trust-root",
            "name": self.name,
            "version": self.version,
            "threshold": self.threshold,
            "keys": [
                {**cose.key_to_cose(k), int(cose.KeyParam.KID): kid} for kid, k in sorted(self.keys.items())
            ],
            "expires": cbor.tdate(self.expires),
        }

    @classmethod
    def from_value(cls, value: Any) -> TrustRoot:
        if not isinstance(value, dict) or value.get("type") != "edl-trust-root":
            raise MalformedError("not a trust root")
        keys: dict[bytes, cose.PublicKey] = {}
        raw_keys = value.get("keys")
        if not isinstance(raw_keys, list) or not raw_keys:
            raise MalformedError("a trust root lists its keys")
        if len(raw_keys) > MAX_ROOT_KEYS:
            raise MalformedError(f"a trust root lists more than {MAX_ROOT_KEYS} keys")
        for k in raw_keys:
            if not isinstance(k, dict):
                raise MalformedError("trust root keys must be COSE_Key maps")
            pub = cose.key_from_cose(k)
            kid = operator_key_id(pub)
            if k.get(int(cose.KeyParam.KID)) != kid:
                raise MalformedError("a trust root key's kid does not match the key")
            if kid in keys:
                raise MalformedError("a trust root lists the same key twice")
            keys[kid] = pub
        try:
            return cls(
                name=_text(value.get("name"), "root name"),
                version=_uint(value.get("version"), "root version"),
                threshold=_uint(value.get("threshold"), "root threshold"),
                keys=keys,
                expires=_tdate(value.get("expires"), "root expires"),
            )
        except ValueError as e:
            raise MalformedError(f"trust root: {e}") from None


def _sign_all(
    payload: bytes,
    content_type: str,
    signers: Sequence[cose.Signer],
    unprotected: Mapping[Any, Any] | None = None,
) -> cose.CoseSign:
    signed = cose.CoseSign.create(
        payload, protected={cose.Header.CONTENT_TYPE: content_type}, unprotected=unprotected
    )
    for s in signers:
        signed = signed.with_signature(s, operator_key_id(s.public_key()))
    return signed


def sign_root(root: TrustRoot, signers: Sequence[cose.Signer]) -> bytes:
    """The signed root (COSE_Sign over the root) with one signature per signer."""
    return _sign_all(cbor.encode(root.to_value()), CONTENT_TYPE_ROOT, signers).to_bytes()


def _valid_kids(signed: cose.CoseSign, keys: Mapping[bytes, cose.PublicKey]) -> list[bytes]:
    """The distinct key ids among ``keys`` whose signature on ``signed`` verifies."""
    if len(signed.signatures) > MAX_SIGNATURES:
        raise MalformedError(f"more than {MAX_SIGNATURES} signatures: refusing to check them all")
    good: list[bytes] = []
    tried: set[bytes] = set()
    for sig in signed.signatures:
        kid = sig.kid
        if kid is None or kid in tried or kid not in keys:
            continue
        tried.add(kid)  # one try per key: repeated signatures under one kid cost nothing more
        try:
            signed.verify_signature(sig, keys[kid])
        except (SignatureError, UnsupportedError):
            continue
        good.append(kid)
    return good


def _check_threshold(signed: cose.CoseSign, root: TrustRoot, what: str) -> list[bytes]:
    good = _valid_kids(signed, root.keys)
    if len(good) < root.threshold:
        missing = [k.hex() for k in sorted(root.keys) if k not in good]
        raise ThresholdError(
            f"{what} is signed by {len(good)}/{root.threshold} required keys of {root.name} v{root.version}; "
            f"missing: {', '.join(missing)}"
        )
    return good


def _decode_signed(data: bytes, content_type: str, what: str) -> cose.CoseSign:
    advice = f"The data is damaged or is not a {what}: give the file as its operator published it."
    try:
        signed = cose.decode_sign(data, what=what, max_size=MAX_LIST_SIZE)
    except MalformedError as e:  # not "a driving licence credential": say what was expected
        e.advice = advice
        raise
    if signed.protected.get(cose.Header.CONTENT_TYPE) != content_type:
        raise MalformedError(f"{what} does not have content type {content_type}", advice=advice)
    return signed


def verify_root(data: bytes) -> TrustRoot:
    """A self-signed root (e.g. a file to pin): it must carry a threshold of its own keys."""
    signed = _decode_signed(data, CONTENT_TYPE_ROOT, "trust root")
    root = TrustRoot.from_value(cbor.decode(signed.payload, what="trust root"))
    _check_threshold(signed, root, "the trust root")
    return root


def update_root(current: TrustRoot, data: bytes) -> TrustRoot:
    """Accept the next root version only if a threshold of the current keys **and** a
    threshold of its own keys signed it (TUF §5.3.4)."""
    signed = _decode_signed(data, CONTENT_TYPE_ROOT, "trust root")
    new = TrustRoot.from_value(cbor.decode(signed.payload, what="trust root"))
    if new.name != current.name:
        raise TrustError(f"root {new.name!r} does not continue {current.name!r}", code="trust_root_mismatch")
    if new.version != current.version + 1:
        raise TrustListRollbackError(f"root version {new.version} does not follow version {current.version}")
    _check_threshold(signed, current, f"root v{new.version} (by the keys of v{current.version})")
    _check_threshold(signed, new, f"root v{new.version} (by its own keys)")
    return new


# --- the trust list ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerEntry:
    certificate: bytes
    status: str = "current"

    def __post_init__(self) -> None:
        if self.status not in SIGNER_STATES:
            raise ValueError(f"signer status must be one of {SIGNER_STATES}")

    @property
    def kid(self) -> bytes:
        return key_id(self.certificate)


@dataclass(frozen=True, slots=True, kw_only=True)
class CityEntry:
    """One issuing authority: its roots, its DS certificates, the signer ids it revoked."""

    id: str
    name: str
    country: str
    roots: tuple[bytes, ...]
    signers: tuple[SignerEntry, ...] = ()
    revoked: tuple[RevokedSigner, ...] = ()
    test: bool = False
    """A demo or test city (``"test": true``, written only when set): its licences verify as
    any other's, and a verifier's page stamps them TEST so nobody takes them for real."""

    def to_value(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "roots": list(self.roots),
            "signers": [
                {"certificate": s.certificate, "kid": s.kid, "status": s.status} for s in self.signers
            ],
            "revoked": [
                {"kid": r.kid, "spki": r.spki_sha256, "issuer": r.issuer, "serial": r.serial}
                for r in self.revoked
            ],
        } | ({"test": True} if self.test else {})

    @classmethod
    def from_value(cls, value: Any) -> CityEntry:
        if not isinstance(value, dict):
            raise MalformedError("a city entry must be a map")
        roots = value.get("roots")
        if not isinstance(roots, list) or not roots or not all(isinstance(r, bytes) for r in roots):
            raise MalformedError("a city entry lists its root certificates")
        raw_signers = value.get("signers", [])
        if not isinstance(raw_signers, list):
            raise MalformedError("a city entry's signers must be an array")
        signers = []
        for s in raw_signers:
            if not isinstance(s, dict) or not isinstance(s.get("certificate"), bytes):
                raise MalformedError("a signer entry holds a certificate")
            if s.get("kid") != key_id(s["certificate"]):
                raise MalformedError("a signer's kid does not match its certificate")
            if s.get("status") not in SIGNER_STATES:
                raise MalformedError("a signer's status is current or retired")
            signers.append(SignerEntry(certificate=s["certificate"], status=s["status"]))
        raw_revoked = value.get("revoked", [])
        if not isinstance(raw_revoked, list):
            raise MalformedError("a city entry's revoked signers must be an array")
        revoked = tuple(_revoked_signer(r) for r in raw_revoked)
        country = _text(value.get("country"), "city country")
        if len(country) != 2 or not country.isupper():
            raise MalformedError("city country must be an ISO 3166-1 alpha-2 code")
        for r in roots:
            # A city's roots are of its country: no city can vouch for another country's licences.
            if _cert_country(r) != country:
                city = safe_repr(value.get("id"))
                raise MalformedError(f"a root of city {city} is not from its country {country}")
        return cls(
            id=_text(value.get("id"), "city id"),
            name=_text(value.get("name"), "city name"),
            country=country,
            roots=tuple(roots),
            signers=tuple(signers),
            revoked=revoked,
            test=_test_flag(value.get("test", False)),
        )


def _test_flag(value: Any) -> bool:
    if value is not True and value is not False:
        raise MalformedError("a city entry's test flag must be true or false")
    return bool(value)


def _revoked_signer(value: Any) -> RevokedSigner:
    fields = ("kid", "spki", "issuer", "serial")
    if (
        not isinstance(value, dict)
        or set(value) != set(fields)
        or not all(isinstance(value[f], bytes) for f in fields)
    ):
        raise MalformedError(
            "a revoked signer is a map of kid, spki, issuer and serial (byte strings); "
            "a bare key id (edl 0.1) can be dodged by re-encoding the certificate: republish the list"
        )
    try:
        return RevokedSigner(
            kid=value["kid"], spki_sha256=value["spki"], issuer=value["issuer"], serial=value["serial"]
        )
    except ValueError as e:
        raise MalformedError(f"a revoked signer: {e}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustList:
    provider: str
    sequence: int
    issued: _dt.datetime
    next_update: _dt.datetime
    expires: _dt.datetime
    root_version: int
    cities: tuple[CityEntry, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.issued <= self.next_update <= self.expires:
            raise ValueError("a trust list needs issued ≤ nextUpdate ≤ expires")
        ids = [c.id for c in self.cities]
        if len(set(ids)) != len(ids):
            raise ValueError("a city is listed twice")

    def to_value(self) -> dict[str, Any]:
        out = dict(self.extra)
        out.update(
            {
                "type": "edl-trust-list",
                "provider": self.provider,
                "sequence": self.sequence,
                "issued": cbor.tdate(self.issued),
                "nextUpdate": cbor.tdate(self.next_update),
                "expires": cbor.tdate(self.expires),
                "rootVersion": self.root_version,
                "cities": [c.to_value() for c in self.cities],
            }
        )
        return out

    @classmethod
    def from_value(cls, value: Any) -> TrustList:
        if not isinstance(value, dict) or value.get("type") != "edl-trust-list":
            raise MalformedError("not a trust list")
        cities = value.get("cities")
        if not isinstance(cities, list):
            raise MalformedError("a trust list has a cities array")
        known = {"type", "provider", "sequence", "issued", "nextUpdate", "expires", "rootVersion", "cities"}
        try:
            return cls(
                provider=_text(value.get("provider"), "provider"),
                sequence=_uint(value.get("sequence"), "sequence"),
                issued=_tdate(value.get("issued"), "issued"),
                next_update=_tdate(value.get("nextUpdate"), "nextUpdate"),
                expires=_tdate(value.get("expires"), "expires"),
                root_version=_uint(value.get("rootVersion"), "rootVersion"),
                cities=tuple(CityEntry.from_value(c) for c in cities),
                extra={k: v for k, v in value.items() if k not in known},
            )
        except ValueError as e:
            raise MalformedError(f"trust list: {e}") from None

    def city(self, city_id: str) -> CityEntry | None:
        return next((c for c in self.cities if c.id == city_id), None)


def sign_trust_list(
    trust_list: TrustList, signers: Sequence[cose.Signer], root_chain: Sequence[bytes]
) -> bytes:
    """Publish: COSE_Sign over the list, one signature per signer, with the signed roots
    (version 1 first) in the unprotected header. More signatures can be added later with
    :func:`cosign_trust_list`."""
    return _sign_all(
        cbor.encode(trust_list.to_value()),
        CONTENT_TYPE_LIST,
        signers,
        unprotected={ROOTS_HEADER: list(root_chain)},
    ).to_bytes()


def cosign_trust_list(data: bytes, signer: cose.Signer) -> bytes:
    """Add one more operator signature to a published list (towards the threshold)."""
    signed = _decode_signed(data, CONTENT_TYPE_LIST, "trust list")
    kid = operator_key_id(signer.public_key())
    if any(s.kid == kid for s in signed.signatures):
        raise ValueError("this key has already signed the list")
    return signed.with_signature(signer, kid).to_bytes()


@dataclass(frozen=True, slots=True)
class VerifiedTrustList:
    """A trust list whose signatures met the pinned operator's threshold, valid at ``now``."""

    trust_list: TrustList
    root: TrustRoot
    signed_by: tuple[bytes, ...]
    root_chain: tuple[bytes, ...]
    """The signed roots walked through from ``start`` (each verified by :func:`update_root`),
    oldest first; empty when the list was signed under ``start`` itself."""
    start: TrustRoot | None = None
    """The pinned (or ``--trust-root``) root the verification began from."""
    chain_roots: tuple[TrustRoot, ...] = ()
    """``start`` and every root walked through: all of them verified, oldest first."""
    _index: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Lookups built once per list (key ids, each city's anchors): a handheld scans all day."""

    def memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """What ``build()`` gives, made once per list and ``key``: a verifier's lookups that
        depend on nothing but this list (immutable, so they never go stale)."""
        try:
            return self._index[key]
        except KeyError:
            value = self._index[key] = build()
            return value

    def anchors(self) -> TrustAnchors:
        cached = self._index.get("anchors")
        if cached is None:
            cached = self._index["anchors"] = anchors_from([self])
        return cached

    def find_signers(self, kid: bytes) -> list[tuple[CityEntry, SignerEntry]]:
        """Every listed DS certificate with key id ``kid`` (with its city)."""
        by_kid = self._index.get("kids")
        if by_kid is None:
            by_kid = {}
            for c in self.trust_list.cities:
                for s in c.signers:
                    by_kid.setdefault(s.kid, []).append((c, s))
            self._index["kids"] = by_kid
        return list(by_kid.get(kid, []))

    def revoked_by(self, kid: bytes) -> CityEntry | None:
        """The city that revoked a signer with key id ``kid``, if any (a lookup by the short id,
        for a credential that names its signer by kid; see :meth:`revocation_of` for a
        certificate)."""
        revoked = self._index.get("revoked")
        if revoked is None:
            revoked = self._index["revoked"] = {r.kid: c for c in self.trust_list.cities for r in c.revoked}
        return revoked.get(kid)

    def revocation_of(self, certificate: bytes) -> CityEntry | None:
        """The city that revoked the signer of DER ``certificate`` (matched on its public key or
        its issuer + serial, as :class:`~edl.x509.RevokedSigner` says), if any."""
        index = self._index.get("revocations")
        if index is None:
            index = self._index["revocations"] = {
                key: c
                for c in self.trust_list.cities
                for r in c.revoked
                for key in (r.spki_sha256, (r.issuer, r.serial))
            }
        spki, issuer, serial = signer_identity(certificate)
        city: CityEntry | None = index.get(spki) or index.get((issuer, serial))
        return city

    def city_anchors(self, city: CityEntry) -> TrustAnchors:
        """Trust anchors of one city (its roots; its revoked signers refused)."""
        key = "city:" + city.id
        cached = self._index.get(key)
        if cached is None:
            cached = self._index[key] = TrustAnchors(
                [load_certificate(r) for r in city.roots], revoked=city.revoked
            )
        return cached


def anchors_from(lists: Iterable[VerifiedTrustList]) -> TrustAnchors:
    """Trust anchors for the mdoc verifier: every city root; revoked signers refused."""
    roots: list[x509.Certificate] = []
    revoked: list[RevokedSigner] = []
    for vl in lists:
        for city in vl.trust_list.cities:
            roots.extend(load_certificate(r) for r in city.roots)
            revoked.extend(city.revoked)
    return TrustAnchors(roots, revoked=revoked)


def read_unverified(data: bytes) -> tuple[cose.CoseSign, TrustList]:
    """Parse a published list without verifying it (to show it, or to see whose it claims to
    be): nothing in it is to be believed until :func:`verify_trust_list` says so."""
    signed = _decode_signed(data, CONTENT_TYPE_LIST, "trust list")
    try:
        trust_list = TrustList.from_value(
            cbor.decode(signed.payload, what="trust list", max_size=MAX_LIST_SIZE)
        )
    except (TypeError, ValueError, KeyError, AttributeError) as e:  # a shape the parsers did not foresee
        raise MalformedError(f"the trust list cannot be read ({e})") from e
    return signed, trust_list


def verify_trust_list(
    data: bytes,
    pinned: Sequence[TrustRoot],
    *,
    now: _dt.datetime,
    min_sequence: int | None = None,
) -> VerifiedTrustList:
    """Verify a published trust list against the pinned operator roots at time ``now``.

    Walks the embedded root chain forward from the pinned version (each step signed by a
    threshold of old and new keys), checks the list's signatures against the current root's
    threshold, refuses a sequence below ``min_sequence`` (rollback) and a list past its
    expiry (``trust_expired``). Raises a :class:`~edl.errors.TrustError` or
    :class:`~edl.errors.MalformedError`; never returns an unverified list.
    """
    if not pinned:
        raise ValueError("no pinned trust-list root: refusing a trust list that nothing vouches for")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    signed, trust_list = read_unverified(data)
    headers: Mapping[Any, Any] = signed.unprotected  # text labels are allowed (RFC 9052 §3)
    chain = headers.get(ROOTS_HEADER, [])
    if not isinstance(chain, (list, tuple)) or not all(isinstance(r, bytes) for r in chain):
        raise MalformedError("the trust list's root chain must be an array of signed roots")
    if len(chain) > MAX_ROOT_CHAIN:
        raise MalformedError(f"the trust list's root chain holds more than {MAX_ROOT_CHAIN} roots")
    # The operators pinned under the list's name, newest version first. Two operators may share a
    # name: each is tried on its own keys, and only the one whose threshold signed the list wins.
    candidates = sorted(
        (r for r in pinned if r.name == trust_list.provider), key=lambda r: r.version, reverse=True
    )
    if not candidates:
        raise TrustError(
            f"the trust list comes from {trust_list.provider!r}, whose root is not pinned here",
            code="trust_root_unknown",
        )
    # The unprotected chain is only a hint: each entry is verified from a pinned root by
    # update_root before it is used, and what it says on its own is never believed.
    by_version: dict[int, list[bytes]] = {}
    for raw in chain:
        try:
            value = cbor.decode(cose.decode_sign(raw, what="trust root", max_size=MAX_LIST_SIZE).payload)
        except EdlError as e:
            raise MalformedError(f"a root in the trust list's chain cannot be read: {e.message}") from None
        # Only the version is read here (to index the hint); keys are parsed when a step needs it.
        version = value.get("version") if isinstance(value, dict) else None
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 1 << 32:
            raise MalformedError("a root in the trust list's chain has no version")
        by_version.setdefault(version, []).append(raw)
    errors: list[EdlError] = []
    for start in candidates:
        try:
            return _verify_under(signed, trust_list, start, by_version, now=now, min_sequence=min_sequence)
        except (TrustError, MalformedError) as e:
            errors.append(e)
    raise most_telling(errors)


def most_telling(errors: Sequence[EdlError]) -> EdlError:
    """Of the errors from trying several pinned operators of one name, the one to report: an
    operator whose keys did not sign says nothing about the list, so another error wins."""
    return next((e for e in errors if not isinstance(e, ThresholdError)), errors[0])


def _walk_roots(
    start: TrustRoot, by_version: Mapping[int, list[bytes]], target: int
) -> tuple[TrustRoot, list[bytes]]:
    """From ``start`` up to version ``target``: each step one of the chain's candidates for the
    next version that a threshold of the current keys and of its own keys signed."""
    root, walked = start, []
    while root.version < target:
        step_error: EdlError | None = None
        for raw in by_version.get(root.version + 1, []):
            try:
                nxt = update_root(root, raw)
            except EdlError as e:
                step_error = step_error or e
                continue
            root = nxt
            walked.append(raw)
            break
        else:
            if step_error is not None:
                raise step_error
            raise TrustError(
                f"the trust list lacks root v{root.version + 1} to move on from v{root.version}",
                code="trust_root_chain",
            )
    return root, walked


def _verify_under(
    signed: cose.CoseSign,
    trust_list: TrustList,
    start: TrustRoot,
    by_version: Mapping[int, list[bytes]],
    *,
    now: _dt.datetime,
    min_sequence: int | None,
) -> VerifiedTrustList:
    if trust_list.root_version < start.version:
        raise TrustListRollbackError(
            f"the trust list was signed under root v{trust_list.root_version}; "
            f"this device already trusts v{start.version}"
        )
    root, walked = _walk_roots(start, by_version, trust_list.root_version)
    if now > root.expires:
        raise TrustListExpiredError(f"the trust-list root v{root.version} expired on {root.expires:%Y-%m-%d}")
    good = _check_threshold(signed, root, f"trust list #{trust_list.sequence}")
    if min_sequence is not None and trust_list.sequence < min_sequence:
        raise TrustListRollbackError(
            f"trust list #{trust_list.sequence} is older than #{min_sequence}, "
            "which this device has already seen"
        )
    if now > trust_list.expires:
        raise TrustListExpiredError(
            f"the trust list #{trust_list.sequence} expired on "
            f"{trust_list.expires:%Y-%m-%d %H:%M}Z: load a newer one"
        )
    if now + CLOCK_SKEW < trust_list.issued:
        raise TrustError(
            f"the trust list is dated {trust_list.issued:%Y-%m-%d %H:%M}Z, in the future",
            code="trust_not_yet_valid",
        )
    return VerifiedTrustList(
        trust_list=trust_list,
        root=root,
        signed_by=tuple(good),
        root_chain=tuple(walked),
        start=start,
        chain_roots=(start, *_roots_of(walked)),
    )


def _roots_of(raws: Sequence[bytes]) -> list[TrustRoot]:
    return [TrustRoot.from_value(cbor.decode(cose.decode_sign(raw).payload)) for raw in raws]


def city_certificates(entry: CityEntry) -> list[x509.Certificate]:
    return [load_certificate(r) for r in entry.roots]


def der(cert: x509.Certificate) -> bytes:
    return certificate_der(cert)
