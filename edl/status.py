"""Token Status Lists: a city's revocations and suspensions, two bits per licence, signed.

This module owns ``specs/status-list.md`` §2–§6: the IETF Token Status List
(draft-ietf-oauth-status-list-20) in its CWT form, as edl builds, signs, reads and checks it:

* :class:`StatusList`: the packed array (``bits`` per entry, least significant bits first in
  each byte, draft §4.1), built with :meth:`~StatusList.set` (or :meth:`~StatusList.revoke`,
  :meth:`~StatusList.suspend`, :meth:`~StatusList.reinstate`, which keep a revocation final)
  and compressed deterministically (zlib, level 9);
* :func:`sign_status_list`: the Status List Token, a COSE_Sign1 (tag 18) with protected
  ``typ`` ``application/statuslist+cwt``, the status signer's certificate in ``x5chain``, and
  the claims ``sub`` (the list's URI, :func:`status_uri`), ``iat``, ``exp``, optional ``ttl``,
  ``status_list`` and edl's private ``sequence`` claim (key -65537), strictly increasing per list
  so that an older list is detectable;
* :func:`decode_status_list`: strict parsing of untrusted bytes into an
  :class:`UnverifiedStatusList` (sizes checked before anything is decompressed, the
  decompressed size bounded so a zlib bomb is refused after at most ``max_entries`` entries of
  work); it reads every ``bits`` value the draft allows (1, 2, 4, 8);
* :func:`verify_status_list`: (bytes, the city's roots, time) → :class:`VerifiedStatusList`,
  whose :meth:`~VerifiedStatusList.status_of` answers VALID, REVOKED or SUSPENDED.

Every failure is a :class:`~edl.errors.StatusListError` whose ``code`` names it (an index
outside the list: :class:`~edl.errors.StatusIndexError`, a ``MalformedError``). Signatures and
digests are computed over the bytes received; time is always an argument. It does not keep
state (which list a handheld saw last is ``edl.pins``' job), allocate indices
(``edl.status_index``) or assemble bundles (``edl.bundle``).

>>> token = sign_status_list(lst, signer, [status_cert], uri=status_uri("cn-qingdao", 1),
...                          sequence=7, issued=now, expires=now + timedelta(days=2))  # doctest: +SKIP
>>> verify_status_list(token, city_anchors=TrustAnchors([root]), now=now).status_of(412)  # doctest: +SKIP
<Status.REVOKED: 1>
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cryptography import x509 as _x509
from cryptography.hazmat.primitives import serialization

from . import cbor, cose
from .errors import (
    CertificateProfileError,
    EdlError,
    ExpiredError,
    MalformedError,
    NotYetValidError,
    SignatureError,
    StatusIndexError,
    StatusListError,
    UnsupportedError,
    UntrustedIssuerError,
    safe_repr,
)
from .x509 import (
    TrustAnchors,
    certificate_der,
    check_status_signer_profile,
    check_validity,
    load_certificate,
    public_key_of,
    validity_of,
    verify_chain,
)

__all__ = [
    "BITS",
    "CLOCK_SKEW",
    "MAX_CHAIN",
    "MAX_ENTRIES",
    "MAX_STATUS_LIST_SIZE",
    "STATUS_LIST_TYP",
    "TYP_HEADER",
    "Claim",
    "Status",
    "StatusList",
    "UnverifiedStatusList",
    "VerifiedStatusList",
    "decode_status_list",
    "parse_status_uri",
    "sign_status_list",
    "status_uri",
    "verify_status_list",
]

STATUS_LIST_TYP = "application/statuslist+cwt"
"""The protected ``typ`` (COSE header 16, RFC 9596) of a Status List Token (draft §5.2)."""

TYP_HEADER = 16
"""COSE header ``typ`` (RFC 9596)."""

BITS = 2
"""Bits per licence in edl's lists: 0 valid, 1 revoked, 2 suspended (3 is never written)."""

MAX_ENTRIES = 1 << 26
"""Most entries :func:`decode_status_list` decompresses by default (67,108,864: a city of 20
million licences with its list sized at 1.5 × needs 30 million). At 2 bits that is 16 MiB of
output: a zlib bomb costs at most that much work before it is refused."""

MAX_STATUS_LIST_SIZE = 1 << 25
"""Largest Status List Token read (32 MiB), checked before any parsing."""

MAX_CHAIN = 2
"""Most certificates in the token's ``x5chain``: the status signer and at most its issuer."""

CLOCK_SKEW = _dt.timedelta(minutes=5)
"""How far in the future ``iat`` may be (the issuer's clock and the verifier's disagree)."""

_ALLOWED_BITS = (1, 2, 4, 8)
_MAX_UINT = 2**63
_URI = re.compile(r"urn:edl:status:([a-z0-9][a-z0-9-]{1,62}):(0|[1-9][0-9]{0,9})")
_MAX_LIST_ID = 2**32


class Claim(enum.IntEnum):
    """CWT claim keys of a Status List Token (RFC 8392 §4; draft §5.2; edl's private one)."""

    SUB = 2
    EXP = 4
    IAT = 6
    STATUS_LIST = 65533
    TTL = 65534
    SEQUENCE = -65537
    """edl's strictly increasing list sequence: the first CWT key of the private-use range
    (RFC 8392 §9.1: integers below -65536), so no registered claim can collide with it."""


class Status(enum.IntEnum):
    """A licence's status (draft §7.1: 0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED). For a
    driving licence INVALID is a revocation, which is final."""

    VALID = 0
    REVOKED = 1
    SUSPENDED = 2


# --- URIs -------------------------------------------------------------------------------------


def status_uri(city_id: str, list_id: int) -> str:
    """The URI of a city's status list number ``list_id``: ``urn:edl:status:<city>:<list id>``.

    It is the token's ``sub`` claim, the MSO's ``status.status_list.uri``, and what a compact
    credential's ``[list id, index]`` with its city claim stands for (``specs/status-list.md`` §3)."""
    if not isinstance(city_id, str) or not isinstance(list_id, int) or isinstance(list_id, bool):
        raise TypeError("status_uri takes a city id (text) and a list id (int)")
    uri = f"urn:edl:status:{city_id}:{list_id}"
    if not 0 <= list_id < _MAX_LIST_ID or _URI.fullmatch(uri) is None:
        raise ValueError(f"no status list URI for city {city_id!r} and list {list_id!r}")
    return uri


def parse_status_uri(uri: str) -> tuple[str, int]:
    """(city id, list id) of an edl status list URI; anything else is ``status_uri``."""
    m = _URI.fullmatch(uri) if isinstance(uri, str) else None
    if m is None:
        raise StatusListError(
            f"{safe_repr(uri)} is not an edl status list URI (urn:edl:status:CITY:LIST)", code="status_uri"
        )
    list_id = int(m[2])
    if list_id >= _MAX_LIST_ID:
        raise StatusListError(f"status list id {list_id} is too large", code="status_uri")
    return m[1], list_id


# --- the packed list --------------------------------------------------------------------------


class StatusList:
    """``len(self)`` statuses of ``bits`` bits each, packed LSB first (draft §4.1).

    ``StatusList(size)`` makes an all-VALID list of at least ``size`` entries (whole bytes: 4
    entries per byte at 2 bits), which :meth:`set` changes. A list read from a token is
    read-only; :meth:`copy` gives a writable one.
    """

    __slots__ = ("_bits", "_data", "_mask", "_per_byte", "_shift")

    def __init__(self, size: int, *, bits: int = BITS) -> None:
        if bits not in _ALLOWED_BITS:
            raise ValueError(f"bits must be one of {_ALLOWED_BITS}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError("a status list has at least one entry")
        per_byte = 8 // bits
        self._init(bytearray(-(-size // per_byte)), bits)

    def _init(self, data: bytes | bytearray, bits: int) -> None:
        self._bits = bits
        self._data = data
        self._per_byte = 8 // bits
        self._shift = self._per_byte.bit_length() - 1  # log2(entries per byte)
        self._mask = (1 << bits) - 1

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, *, bits: int) -> StatusList:
        """A list over the decompressed bytes ``data`` (read-only when ``data`` is ``bytes``)."""
        if bits not in _ALLOWED_BITS:
            raise ValueError(f"bits must be one of {_ALLOWED_BITS}")
        if not data:
            raise ValueError("a status list has at least one entry")
        out = cls.__new__(cls)
        out._init(data, bits)
        return out

    @property
    def bits(self) -> int:
        return self._bits

    def __len__(self) -> int:
        return len(self._data) * self._per_byte

    def __repr__(self) -> str:
        return f"StatusList({len(self)} entries, bits={self._bits})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self._bits == other._bits and bytes(self._data) == bytes(other._data)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def to_bytes(self) -> bytes:
        """The packed (uncompressed) bytes."""
        return bytes(self._data)

    def copy(self) -> StatusList:
        """A writable copy."""
        return StatusList.from_bytes(bytearray(self._data), bits=self._bits)

    def get(self, index: int) -> int:
        """The raw status value at ``index`` (:class:`~edl.errors.StatusIndexError` outside)."""
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError("a status index is an int")
        if not 0 <= index < len(self._data) << self._shift:
            raise StatusIndexError(
                f"index {safe_repr(index)} is outside the status list of {len(self)} entries"
            )
        byte = self._data[index >> self._shift]
        return (byte >> ((index & (self._per_byte - 1)) * self._bits)) & self._mask

    def set(self, index: int, value: int) -> None:
        """Write ``value`` (< 2**bits) at ``index``. No policy here: see :meth:`revoke` & co."""
        if not isinstance(self._data, bytearray):
            raise ValueError("this status list is read-only; copy() it to change it")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= self._mask:
            raise ValueError(f"a {self._bits}-bit status is 0..{self._mask}")
        self.get(index)  # bounds and type
        at, shift = index >> self._shift, (index & (self._per_byte - 1)) * self._bits
        self._data[at] = (self._data[at] & ~(self._mask << shift) & 0xFF) | (value << shift)

    def revoke(self, index: int) -> None:
        """Revoke: final (a revoked licence is never reinstated or suspended again)."""
        self.set(index, Status.REVOKED)

    def suspend(self, index: int) -> None:
        """Suspend a valid licence (a revoked one stays revoked: ``ValueError``)."""
        if self.get(index) == Status.REVOKED:
            raise ValueError(f"licence {index} is revoked, which is final: it cannot be suspended")
        self.set(index, Status.SUSPENDED)

    def reinstate(self, index: int) -> None:
        """Lift a suspension (a revoked licence stays revoked: ``ValueError``)."""
        if self.get(index) == Status.REVOKED:
            raise ValueError(f"licence {index} is revoked, which is final: it cannot be reinstated")
        self.set(index, Status.VALID)

    def compress(self) -> bytes:
        """``lst``: zlib (RFC 1950) at level 9, deterministic for a given zlib build."""
        return zlib.compress(bytes(self._data), 9)

    def to_value(self) -> dict[str, Any]:
        """The draft's ``StatusList`` map: ``{"bits": bits, "lst": compressed bytes}``."""
        return {"bits": self._bits, "lst": self.compress()}

    @classmethod
    def from_value(cls, value: Any, *, max_entries: int = MAX_ENTRIES) -> tuple[StatusList, str | None]:
        """Read a ``StatusList`` map (draft §4.3): (the list, its ``aggregation_uri`` or None).

        ``bits`` must be 1, 2, 4 or 8 (``status_bits``); ``lst`` must be one complete zlib stream
        that inflates to at least one byte and to at most ``max_entries`` entries
        (``status_too_large``, decided after at most that much output); nothing may follow it.
        """
        if not isinstance(value, Mapping):
            raise StatusListError("status_list must be a map", code="status_malformed")
        unknown = set(value) - {"bits", "lst", "aggregation_uri"}
        if unknown or "bits" not in value or "lst" not in value:
            raise StatusListError(
                f"status_list is {{bits, lst, ? aggregation_uri}}, not {safe_repr(sorted(map(str, value)))}",
                code="status_malformed",
            )
        bits, lst, aggregation = value["bits"], value["lst"], value.get("aggregation_uri")
        if type(bits) is not int or bits not in _ALLOWED_BITS:
            raise StatusListError(
                f"status_list bits {safe_repr(bits)} is not 1, 2, 4 or 8", code="status_bits"
            )
        if not isinstance(lst, bytes):
            raise StatusListError("status_list lst must be a byte string", code="status_malformed")
        if aggregation is not None and not isinstance(aggregation, str):
            raise StatusListError("status_list aggregation_uri must be text", code="status_malformed")
        limit = -(-max_entries * bits // 8)
        inflate = zlib.decompressobj()
        try:
            raw = inflate.decompress(lst, limit + 1)
        except zlib.error as e:
            raise StatusListError(
                f"status_list lst is not zlib data ({e})", code="status_malformed"
            ) from None
        if len(raw) > limit:
            raise StatusListError(
                f"the status list inflates beyond {max_entries} entries: refused (a zlib bomb, "
                "or a list larger than this verifier accepts)",
                code="status_too_large",
            )
        if not inflate.eof:
            raise StatusListError("status_list lst is a truncated zlib stream", code="status_malformed")
        if inflate.unused_data:
            raise StatusListError("status_list lst has bytes after its zlib stream", code="status_malformed")
        if not raw:
            raise StatusListError("status_list lst holds no entry", code="status_malformed")
        return cls.from_bytes(raw, bits=bits), aggregation


# --- the token --------------------------------------------------------------------------------


def _spki(cert: _x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _epoch(moment: _dt.datetime, what: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    seconds = int(moment.timestamp())
    if not 0 <= seconds < cbor.MAX_EPOCH:
        raise ValueError(f"{what} is outside 1970..9999")
    return seconds


def sign_status_list(
    status_list: StatusList,
    signer: cose.Signer,
    certificate_chain: Sequence[_x509.Certificate | bytes],
    *,
    uri: str,
    sequence: int,
    issued: _dt.datetime,
    expires: _dt.datetime,
    ttl: _dt.timedelta | None = None,
) -> bytes:
    """The Status List Token (``specs/status-list.md`` §2), as bytes to publish.

    ``certificate_chain`` is the status signer's certificate (leaf first, at most its issuer
    after it) and goes in ``x5chain``; ``signer`` must hold that certificate's key. ``uri`` is
    :func:`status_uri` of the city and list; ``sequence`` must grow with every list published
    under that URI. Times are whole seconds (fractions are dropped). Caller mistakes (a 1-bit
    list, another key, ``expires`` not after ``issued`` …) raise ``ValueError``.
    """
    if status_list.bits != BITS:
        raise ValueError(f"edl signs {BITS}-bit status lists only")
    try:
        parse_status_uri(uri)
    except StatusListError:
        raise ValueError(f"{uri!r} is not an edl status list URI: use status_uri(city_id, list_id)") from None
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 <= sequence < _MAX_UINT:
        raise ValueError("sequence is an integer in 0 .. 2^63 - 1")
    iat, exp = _epoch(issued, "issued"), _epoch(expires, "expires")
    if exp <= iat:
        raise ValueError("expires must be after issued")
    chain = [c if isinstance(c, bytes) else certificate_der(c) for c in certificate_chain]
    if not 1 <= len(chain) <= MAX_CHAIN:
        raise ValueError(f"the certificate chain holds 1 to {MAX_CHAIN} certificates, leaf first")
    leaf = load_certificate(chain[0])
    key = signer.public_key()
    if _spki(leaf) != key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ValueError("the signer's key is not the status signer certificate's key")
    claims: dict[int, Any] = {
        Claim.SUB: uri,
        Claim.IAT: iat,
        Claim.EXP: exp,
        Claim.STATUS_LIST: status_list.to_value(),
        Claim.SEQUENCE: sequence,
    }
    if ttl is not None:
        seconds = int(ttl.total_seconds())
        if seconds < 1 or ttl > MAX_TTL:
            raise ValueError("ttl must be from one second to 100 years")
        claims[Claim.TTL] = seconds
    payload = cbor.encode({int(k): v for k, v in claims.items()})
    return cose.sign1(
        signer,
        payload,
        protected={TYP_HEADER: STATUS_LIST_TYP},
        unprotected={cose.Header.X5CHAIN: chain[0] if len(chain) == 1 else chain},
        tagged=True,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnverifiedStatusList:
    """A Status List Token parsed strictly and **not verified**: nothing in it is to be believed
    until :func:`verify_status_list` says so (refusing on it is fine)."""

    sign1: cose.CoseSign1 = field(repr=False)
    uri: str
    issued: _dt.datetime
    expires: _dt.datetime | None
    ttl: _dt.timedelta | None
    sequence: int | None
    status_list: StatusList = field(repr=False)
    aggregation_uri: str | None = None
    certificate_chain: tuple[bytes, ...] = field(default=(), repr=False)
    """The ``x5chain`` (DER, leaf first); empty when the token names its key otherwise (a kid)."""
    extra_claims: Mapping[Any, Any] = field(default_factory=dict, repr=False)
    """Claims edl does not read (RFC 8392: kept, never interpreted)."""

    @property
    def bits(self) -> int:
        return self.status_list.bits

    @property
    def payload(self) -> bytes:
        """The signed claims, exactly as received."""
        assert self.sign1.payload is not None  # decode refuses a detached payload
        return self.sign1.payload


def _uint(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < _MAX_UINT:
        raise StatusListError(f"{what} must be an unsigned integer below 2^63", code="status_malformed")
    return value


MAX_TTL = _dt.timedelta(days=100 * 366)
"""The longest ``ttl`` accepted (a longer one is no advice a verifier can follow: refused)."""


def _ttl(value: Any) -> _dt.timedelta:
    seconds = _uint(value, "ttl")
    if seconds > MAX_TTL.total_seconds():
        raise StatusListError(
            f"the status list's ttl of {seconds} seconds is more than 100 years", code="status_malformed"
        )
    return _dt.timedelta(seconds=seconds)


def _time(value: Any, what: str) -> _dt.datetime:
    try:
        return cbor.datetime_from_epoch(value, what=what)
    except MalformedError as e:
        raise StatusListError(e.message, code="status_malformed") from None


def _x5chain(sign1: cose.CoseSign1) -> tuple[bytes, ...]:
    value = sign1.header(cose.Header.X5CHAIN)
    if value is None:
        return ()
    chain = [value] if isinstance(value, bytes) else value
    if not isinstance(chain, (list, tuple)) or not chain or not all(isinstance(c, bytes) for c in chain):
        raise StatusListError(
            "the status list's x5chain must be a certificate or an array of them", code="status_malformed"
        )
    if len(chain) > MAX_CHAIN:
        raise StatusListError(
            f"the status list's x5chain holds {len(chain)} certificates; at most {MAX_CHAIN} are accepted",
            code="status_malformed",
        )
    return tuple(chain)


def decode_status_list(data: bytes, *, max_entries: int = MAX_ENTRIES) -> UnverifiedStatusList:
    """Parse a Status List Token (draft §5.2) strictly, without verifying it.

    Refuses, as :class:`~edl.errors.StatusListError`: more than :data:`MAX_STATUS_LIST_SIZE`
    bytes (``status_too_large``, before parsing); anything that is not one COSE_Sign1 (tag 18 or
    none) with protected ``typ`` ``application/statuslist+cwt`` over a claims map with ``sub``
    (text), ``iat`` (epoch seconds) and ``status_list`` and, when present, ``exp`` (after
    ``iat``), ``ttl`` and edl's ``sequence`` (unsigned), and an ``x5chain`` of at most two
    certificates (``status_malformed``; an algorithm outside edl's allowlist:
    ``status_unsupported``); a ``status_list`` as :meth:`StatusList.from_value` says
    (``status_bits``, ``status_too_large``, ``status_malformed``). ``max_entries`` bounds the
    decompressed list.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_status_list() takes bytes, not {type(data).__name__}")
    if len(data) > MAX_STATUS_LIST_SIZE:
        raise StatusListError(
            f"the status list is {len(data)} bytes, more than the {MAX_STATUS_LIST_SIZE} accepted",
            code="status_too_large",
        )
    try:
        value = cbor.decode(bytes(data), max_size=MAX_STATUS_LIST_SIZE, what="status list")
        sign1 = cose.CoseSign1.from_value(value, what="status list")
        if sign1.payload is None:
            raise MalformedError("status list: the claims are detached")
        typ = sign1.protected.get(TYP_HEADER)
        if typ != STATUS_LIST_TYP:
            raise MalformedError(
                f"not a status list: protected typ is {safe_repr(typ)}, not {STATUS_LIST_TYP!r}"
            )
        claims = cbor.decode(sign1.payload, max_size=MAX_STATUS_LIST_SIZE, what="status list claims")
    except UnsupportedError as e:
        raise StatusListError(e.message, code="status_unsupported") from None
    except MalformedError as e:
        raise StatusListError(e.message, code="status_malformed") from None
    if not isinstance(claims, Mapping):
        raise StatusListError("the status list's claims must be a map", code="status_malformed")
    if not all(type(k) in (int, str) for k in claims):  # 2.0 or True would look up as 2 or 1
        raise StatusListError(
            "the status list's claim keys must be integers or text", code="status_malformed"
        )
    sub = claims.get(Claim.SUB)
    if not isinstance(sub, str) or not sub:
        raise StatusListError("the status list has no sub (its URI)", code="status_malformed")
    if Claim.IAT not in claims or Claim.STATUS_LIST not in claims:
        raise StatusListError("the status list lacks iat or status_list", code="status_malformed")
    issued = _time(claims[Claim.IAT], "iat")
    expires = None if Claim.EXP not in claims else _time(claims[Claim.EXP], "exp")
    if expires is not None and expires <= issued:
        raise StatusListError("the status list expires before it was issued", code="status_malformed")
    ttl = None if Claim.TTL not in claims else _ttl(claims[Claim.TTL])
    sequence = None if Claim.SEQUENCE not in claims else _uint(claims[Claim.SEQUENCE], "sequence")
    chain = _x5chain(sign1)
    status_list, aggregation = StatusList.from_value(claims[Claim.STATUS_LIST], max_entries=max_entries)
    known = {int(c) for c in Claim}
    return UnverifiedStatusList(
        sign1=sign1,
        uri=sub,
        issued=issued,
        expires=expires,
        ttl=ttl,
        sequence=sequence,
        status_list=status_list,
        aggregation_uri=aggregation,
        certificate_chain=chain,
        extra_claims=MappingProxyType({k: v for k, v in claims.items() if k not in known}),
    )


# --- verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedStatusList:
    """A status list its city's status signer signed, current at the time it was checked."""

    uri: str
    city_id: str
    list_id: int
    sequence: int
    issued: _dt.datetime
    expires: _dt.datetime
    ttl: _dt.timedelta | None
    signer_certificate: bytes = field(repr=False)
    """The status signer's certificate (DER), as the token carried it."""
    payload_digest: bytes = field(repr=False)
    """SHA-256 of the signed claims as received: two lists under one URI and one sequence with
    different digests are a substitution (what a verifier's state compares)."""
    raw: bytes = field(repr=False, compare=False)
    """The token exactly as received (what a bundle carries)."""
    status_list: StatusList = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.status_list)

    def status_of(self, index: int) -> Status:
        """The status of the licence at ``index``: :class:`Status`.

        An index outside the list raises :class:`~edl.errors.StatusIndexError` (a
        ``MalformedError``); the value 3, which edl never writes, ``status_unsupported``.
        """
        value = self.status_list.get(index)
        if value > Status.SUSPENDED:
            raise StatusListError(
                f"status value {value} at index {index} means nothing for a driving licence",
                code="status_unsupported",
            )
        return Status(value)


def _refuse(e: EdlError, code: str, prefix: str = "") -> StatusListError:
    return StatusListError(f"{prefix}{e.message}", code=code)


def verify_status_list(
    data: bytes,
    *,
    city_anchors: TrustAnchors,
    now: _dt.datetime,
    uri: str | None = None,
    max_entries: int = MAX_ENTRIES,
    allow_expired: bool = False,
) -> VerifiedStatusList:
    """Verify a Status List Token against the city's roots at ``now`` (``specs/status-list.md`` §6).

    With ``allow_expired`` (a handheld loading its bundle) a list past its ``exp`` is still
    returned, with its certificates checked as of its own ``iat``: it is authentic but stale,
    and the verifiers report ``status_stale`` (amber; a revocation it shows is red all the
    same) rather than losing the whole bundle.

    In this order, each refusal a :class:`~edl.errors.StatusListError` with its code: decode
    (:func:`decode_status_list`); ``sub`` is an edl URI (``status_uri``) and, when ``uri`` is
    given, that one (``status_uri_mismatch``: another list, or another city's, in its place);
    the ``x5chain`` certificate chains to ``city_anchors`` (``status_untrusted``;
    ``status_signer_revoked`` when the city revoked it; ``status_signer_expired`` when a
    certificate is not valid at ``now``); it fits the status signer profile
    (``status_signer_eku`` … :func:`edl.x509.check_status_signer_profile`); the signature over
    the bytes received (``status_bad_signature``); 2 bits per entry (``status_bits``), an
    ``exp`` and a ``sequence`` (``status_unsupported``); ``iat`` inside the signer's validity
    (``status_signed_outside_certificate``); ``now`` ≤ ``exp`` (``status_expired``) and ``iat``
    ≤ ``now`` + 5 minutes (``status_not_yet_valid``). Rollback (a sequence below one already
    seen) is the caller's check: it has the state.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if not isinstance(city_anchors, TrustAnchors):
        raise TypeError("city_anchors is a TrustAnchors of the city's root certificates")
    token = decode_status_list(data, max_entries=max_entries)
    city_id, list_id = parse_status_uri(token.uri)
    if uri is not None and token.uri != uri:
        raise StatusListError(
            f"this is the status list {safe_repr(token.uri)}, not {safe_repr(uri)}",
            code="status_uri_mismatch",
        )
    # Whose key is it (the chain), is it a status signer (the profile), did it sign (the signature)?
    chain = token.certificate_chain
    if not chain:
        raise StatusListError(
            "the status list names no signer certificate (x5chain)", code="status_untrusted"
        )
    # An expired list (allowed) is judged as of the time it was made: was it authentic then?
    when = (
        min(now, token.issued) if allow_expired and token.expires is not None and now > token.expires else now
    )
    try:
        result = verify_chain(chain, city_anchors, when, max_length=MAX_CHAIN)
        leaf = load_certificate(chain[0])
        check_validity(chain[0], when, what="the status list signer's certificate")
    except UntrustedIssuerError as e:
        code = "status_signer_revoked" if e.code == "signer_revoked" else "status_untrusted"
        raise _refuse(e, code, "status list signer: ") from None
    except (ExpiredError, NotYetValidError) as e:
        raise _refuse(e, "status_signer_expired") from None
    except MalformedError as e:
        raise _refuse(e, "status_malformed", "status list signer: ") from None
    try:
        check_status_signer_profile(leaf, load_certificate(result.anchor_der) if not result.pinned else None)
    except CertificateProfileError as e:
        raise _refuse(e, e.code) from None
    try:
        token.sign1.verify(public_key_of(chain[0]))
    except SignatureError as e:
        raise _refuse(e, "status_bad_signature", "status list: ") from None
    except UnsupportedError as e:
        raise _refuse(e, "status_unsupported", "status list: ") from None
    except MalformedError as e:
        raise _refuse(e, "status_malformed", "status list: ") from None
    # What the signed claims say.
    if token.bits != BITS:
        raise StatusListError(
            f"the status list has {token.bits} bit(s) per licence; edl's lists have {BITS}",
            code="status_bits",
        )
    if token.expires is None:
        raise StatusListError("the status list never expires (no exp): refused", code="status_unsupported")
    if token.sequence is None:
        raise StatusListError(
            "the status list has no sequence, so a replayed older list could not be told apart",
            code="status_unsupported",
        )
    not_before, not_after = validity_of(chain[0])
    if not not_before <= token.issued <= not_after:
        raise StatusListError(
            f"the status list is dated {token.issued:%Y-%m-%d %H:%M}Z, outside its signer certificate's "
            f"validity ({not_before:%Y-%m-%d} .. {not_after:%Y-%m-%d})",
            code="status_signed_outside_certificate",
        )
    if now > token.expires and not allow_expired:
        raise StatusListError(
            f"the status list {token.uri} #{token.sequence} expired on {token.expires:%Y-%m-%d %H:%M}Z",
            code="status_expired",
        )
    if now + CLOCK_SKEW < token.issued:
        raise StatusListError(
            f"the status list is dated {token.issued:%Y-%m-%d %H:%M}Z, in the future: "
            "check this device's clock",
            code="status_not_yet_valid",
        )
    return VerifiedStatusList(
        uri=token.uri,
        city_id=city_id,
        list_id=list_id,
        sequence=token.sequence,
        issued=token.issued,
        expires=token.expires,
        ttl=token.ttl,
        signer_certificate=chain[0],
        payload_digest=hashlib.sha256(token.payload).digest(),
        raw=bytes(data),
        status_list=token.status_list,
    )
