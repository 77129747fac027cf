"""The compact credential: the licence, signed small enough for one QR frame (hazmat layer).

This module owns ``specs/presentation-qr.md`` §2: a COSE_Sign1 by the city's document-signer
key, with a content type of its own in the protected header (so it can never be taken for an
MSO signed by the same key, nor the reverse) and the signer's 8-byte key id (the verifier
finds the certificate in its trust list), over integer-keyed claims. One is issued per
*profile* from the same licence, by the same signer, at the same time as the ISO mdoc:

* ``roadside``: names (with national characters), birth date, licence number, categories
  with their dates and restriction codes, expiry, portrait digest;
* ``age-check``: age_over_18 and the portrait digest only;
* ``rental``: names, licence number, categories with their dates.

The schema fixes every claim's type, so dates are plain day numbers since 1970-01-01 and
times plain epoch seconds (no tags), categories are arrays, the portrait digest is SHA-256
truncated to 16 bytes, and a P-256 device key is its 33-byte compressed point. A credential
larger than :data:`MAX_COMPACT_BYTES` is refused at issuance: its frame could not fit one QR
of version 15 at level M. It does not make frames (``edl.presentation``) or decide trust
(``edl.verify_qr``). Time is an argument.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import cbor, cose
from .errors import MalformedError, UnsupportedError, safe_repr
from .issue import DocumentSigner
from .model import Licence, LicenceError, check_portrait
from .x509 import certificate_der, key_id

__all__ = [
    "CONTENT_TYPE",
    "MAX_COMPACT_BYTES",
    "PROFILES",
    "Claim",
    "CompactCredential",
    "decode_compact",
    "issue_compact",
    "make_thumbnail",
    "portrait_digest",
]

CONTENT_TYPE = 65001
"""Protected content type (COSE label 3) of a compact credential; never on an MSO. A number
from the CoAP Content-Format experimental range (three bytes where a text type costs eight:
every byte counts in one QR frame)."""

PROFILES: Mapping[str, int] = {"roadside": 1, "age-check": 2, "rental": 3}
_PROFILE_NAMES = {v: k for k, v in PROFILES.items()}
MAX_CREDENTIAL_SIZE = 1024
MAX_COMPACT_BYTES = 397 - 105
"""The frame around a credential costs 105 bytes (with a 16-byte challenge): 397 - 105 = 292."""
DIGEST_SIZE = 16
EPOCH = _dt.date(1970, 1, 1)


class Claim(enum.IntEnum):
    """Claim keys of a compact credential (``specs/presentation-qr.md``)."""

    CITY = 1
    ISSUED = 2
    VALID_UNTIL = 3
    STATUS = 4
    DEVICE_KEY = 5
    PROFILE = 6
    PORTRAIT_DIGEST = 7
    FAMILY_NAME = 10
    GIVEN_NAME = 11
    FAMILY_NAME_NATIONAL = 12
    GIVEN_NAME_NATIONAL = 13
    BIRTH_DATE = 14
    DOCUMENT_NUMBER = 15
    PRIVILEGES = 16
    AGE_OVER_18 = 17
    EXPIRY_DATE = 18
    ISSUING_COUNTRY = 19


# ISO element identifiers of each claim that carries licence data (for display).
CLAIM_ELEMENTS: Mapping[int, str] = {
    Claim.FAMILY_NAME: "family_name",
    Claim.GIVEN_NAME: "given_name",
    Claim.FAMILY_NAME_NATIONAL: "family_name_national_character",
    Claim.GIVEN_NAME_NATIONAL: "given_name_national_character",
    Claim.BIRTH_DATE: "birth_date",
    Claim.DOCUMENT_NUMBER: "document_number",
    Claim.PRIVILEGES: "driving_privileges",
    Claim.AGE_OVER_18: "age_over_18",
    Claim.EXPIRY_DATE: "expiry_date",
    Claim.ISSUING_COUNTRY: "issuing_country",
}

_PROFILE_CLAIMS: Mapping[str, tuple[Claim, ...]] = {
    "roadside": (
        Claim.FAMILY_NAME,
        Claim.GIVEN_NAME,
        Claim.FAMILY_NAME_NATIONAL,
        Claim.GIVEN_NAME_NATIONAL,
        Claim.BIRTH_DATE,
        Claim.DOCUMENT_NUMBER,
        Claim.PRIVILEGES,
        Claim.EXPIRY_DATE,
    ),
    "age-check": (Claim.AGE_OVER_18,),
    "rental": (Claim.FAMILY_NAME, Claim.GIVEN_NAME, Claim.DOCUMENT_NUMBER, Claim.PRIVILEGES),
}
_PORTRAIT_PROFILES = ("roadside", "age-check")


def _days(day: _dt.date) -> int:
    return (day - EPOCH).days


def _seconds(moment: _dt.datetime) -> int:
    return int(moment.timestamp())


def portrait_digest(thumbnail: bytes) -> bytes:
    """What a credential signs about its portrait thumbnail: SHA-256, first 16 bytes."""
    return hashlib.sha256(thumbnail).digest()[:DIGEST_SIZE]


def make_thumbnail(portrait: bytes, *, size: tuple[int, int] = (48, 60), quality: int = 35) -> bytes:
    """The small grayscale JPEG carried in the QR carousel (made once, at issuance).

    Raises :class:`~edl.model.LicenceError` (a ``ValueError``) when ``portrait`` is not an
    image :func:`~edl.model.check_portrait` accepts."""
    from PIL import Image

    check_portrait(portrait)
    try:
        with Image.open(io.BytesIO(portrait), formats=("JPEG", "JPEG2000")) as img:
            small = img.convert("L")
            small.thumbnail(size)
            out = io.BytesIO()
            small.save(out, format="JPEG", quality=quality, optimize=True)
    except Exception as e:  # noqa: BLE001 - Pillow raises many unrelated types on bad data
        raise LicenceError(
            "portrait", f"portrait: cannot be made into a thumbnail ({type(e).__name__})"
        ) from None
    return out.getvalue()


def _compact_key(key: cose.PublicKey) -> bytes | dict[int, Any]:
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return {int(k): v for k, v in cose.key_to_cose(key).items()}


def _device_key(value: Any) -> cose.PublicKey:
    if isinstance(value, bytes):
        if len(value) != 33 or value[0] not in (2, 3):
            raise MalformedError("the device key must be a compressed P-256 point")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), value)
        except ValueError:
            raise MalformedError("the device key is not a valid P-256 point") from None
    return cose.key_from_cose(value)


def _privileges(value: list[dict[str, Any]], *, with_codes: bool) -> list[list[Any]]:
    """[category, issue day or null, expiry day or null, (restriction codes)]."""
    out = []
    for p in value:
        entry: list[Any] = [
            p["vehicle_category_code"],
            _days(p["issue_date"]) if "issue_date" in p else None,
            _days(p["expiry_date"]) if "expiry_date" in p else None,
        ]
        if with_codes and p.get("codes"):
            entry.append([c["code"] for c in p["codes"]])
        out.append(entry)
    return out


def issue_compact(
    licence: Licence,
    *,
    profile: str,
    city: str,
    device_key: cose.PublicKey,
    signer: DocumentSigner,
    now: _dt.datetime,
    valid_until: _dt.datetime,
    thumbnail: bytes | None = None,
    status: tuple[int, int] | None = None,
) -> bytes:
    """Sign the compact credential of ``profile`` (encoded COSE_Sign1 bytes).

    ``thumbnail`` (see :func:`make_thumbnail`) is required for profiles that show a portrait;
    its SHA-256 is signed. ``status`` is (list id, index).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {sorted(PROFILES)}")
    if now.utcoffset() is None or valid_until.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    if valid_until > signer.not_after:
        raise ValueError("valid-until is after the document signer certificate's notAfter")
    claims: dict[int, Any] = {
        Claim.CITY: city,
        Claim.ISSUED: _seconds(now),
        Claim.VALID_UNTIL: _seconds(valid_until),
        Claim.DEVICE_KEY: _compact_key(device_key),
        Claim.PROFILE: PROFILES[profile],
    }
    if status is not None:
        claims[Claim.STATUS] = [int(status[0]), int(status[1])]
    if profile in _PORTRAIT_PROFILES:
        if thumbnail is None:
            raise ValueError(f"the {profile} profile needs the portrait thumbnail")
        claims[Claim.PORTRAIT_DIGEST] = portrait_digest(thumbnail)
    els = licence.elements
    for claim in _PROFILE_CLAIMS[profile]:
        ident = CLAIM_ELEMENTS[claim]
        if ident not in els:
            if claim in (Claim.FAMILY_NAME_NATIONAL, Claim.GIVEN_NAME_NATIONAL):
                continue
            raise ValueError(f"the {profile} profile needs {ident}")
        value = els[ident]
        if claim is Claim.PRIVILEGES:
            value = _privileges(value, with_codes=profile == "roadside")
        elif isinstance(value, _dt.datetime):
            value = _days(value.date())
        elif isinstance(value, _dt.date):
            value = _days(value)
        claims[claim] = value
    kid = key_id(certificate_der(signer.certificate))
    signed = cose.sign1(
        signer.signer,
        cbor.encode({int(k): v for k, v in claims.items()}),
        protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE, cose.Header.KID: kid},
    )
    if len(signed) > MAX_COMPACT_BYTES:
        raise ValueError(
            f"the {profile} credential is {len(signed)} bytes; one QR frame holds {MAX_COMPACT_BYTES}: "
            "shorten the data (names, categories, restriction codes)"
        )
    return signed


@dataclass(frozen=True, slots=True)
class CompactCredential:
    """A parsed, **unverified** compact credential."""

    raw: bytes
    sign1: cose.CoseSign1
    kid: bytes
    profile: str
    city: str
    issued: _dt.datetime
    valid_until: _dt.datetime
    device_key: cose.PublicKey
    portrait_digest: bytes | None
    status: tuple[int, int] | None
    claims: Mapping[int, Any]
    _elements: Mapping[str, Any]
    _id: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> bytes:
        """Carousel id: the first 8 bytes of SHA-256 over the credential's bytes (computed when
        first asked for: a main frame read alone never needs it)."""
        value = self._id
        if value is None:
            value = hashlib.sha256(self.raw).digest()[:8]
            object.__setattr__(self, "_id", value)  # a cache of a pure function of raw
        return value

    def elements(self) -> dict[str, Any]:
        """The licence data as ISO element identifiers → Python values (dates as dates)."""
        return dict(self._elements)


_EPOCH_ORDINAL = EPOCH.toordinal()


def _date(value: Any, what: str) -> _dt.date:
    if type(value) is not int or not -36500 < value < 73000:
        raise MalformedError(f"{what} must be a day number")
    return _dt.date.fromordinal(_EPOCH_ORDINAL + value)


def _privilege_out(p: Any) -> dict[str, Any]:
    if not isinstance(p, (list, tuple)) or len(p) not in (3, 4) or not isinstance(p[0], str) or not p[0]:
        raise MalformedError("a vehicle category is [code, issue day, expiry day, (codes)]")
    out: dict[str, Any] = {"vehicle_category_code": p[0]}
    if p[1] is not None:
        out["issue_date"] = _date(p[1], "issue_date")
    if p[2] is not None:
        out["expiry_date"] = _date(p[2], "expiry_date")
    if len(p) == 4:
        if not isinstance(p[3], (list, tuple)) or not all(isinstance(c, str) for c in p[3]):
            raise MalformedError("restriction codes must be text")
        out["codes"] = [{"code": c} for c in p[3]]
    return out


def _privileges_out(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)):
        raise MalformedError("driving privileges must be an array")
    return [_privilege_out(p) for p in value]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedError(f"{what} must be text")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise MalformedError(f"{what} must be true or false")
    return value


# How each licence-data claim is checked and turned into its element value (one pass).
_ELEMENT_OF: Mapping[int, tuple[str, Any]] = {
    claim: (
        ident,
        _privileges_out
        if claim == Claim.PRIVILEGES
        else _date
        if ident in ("birth_date", "expiry_date")
        else _bool
        if claim == Claim.AGE_OVER_18
        else _text,
    )
    for claim, ident in CLAIM_ELEMENTS.items()
}


def decode_compact(data: bytes) -> CompactCredential:
    """Parse a compact credential without verifying it (its content type is checked here:
    an MSO or a frame is refused as ``unsupported``).

    Parsing is a pure function of the bytes, and a carousel repeats the same credential in
    every frame, so results are cached (the last 32 credentials; failures are not)."""
    return _decode_compact(bytes(data))


# Plain integers for the labels read on every decode (an IntEnum member costs an attribute
# lookup through its class each time: a few tenths of a microsecond).
_CONTENT_TYPE_LABEL = int(cose.Header.CONTENT_TYPE)
_KID_LABEL = int(cose.Header.KID)
_PROFILE, _CITY, _DIGEST, _STATUS = (
    int(Claim.PROFILE),
    int(Claim.CITY),
    int(Claim.PORTRAIT_DIGEST),
    int(Claim.STATUS),
)
_ISSUED, _VALID_UNTIL, _DEVICE_KEY = int(Claim.ISSUED), int(Claim.VALID_UNTIL), int(Claim.DEVICE_KEY)
_ELEMENT_OF_INT: Mapping[int, tuple[str, Any]] = {int(k): v for k, v in _ELEMENT_OF.items()}


@functools.lru_cache(maxsize=64)
def _header_of(protected_bytes: bytes, what: str) -> tuple[dict[Any, Any], cose.Algorithm]:
    # What cose.CoseSign1.from_parts makes of a protected header (it reads nothing else).
    probe = cose.CoseSign1.from_parts(protected_bytes, b"", b"", what=what)
    return probe.protected, probe.algorithm


def _sign1_of(data: bytes, *, what: str) -> cose.CoseSign1:
    """:func:`edl.cose.decode_sign1` for the QR's COSE_Sign1s: a credential or a frame in the
    wallet's layout (``cose.split_sign1``) has its protected header parsed and checked once per
    distinct header bytes (every frame, every credential of one signer shares them), not once
    per input; anything else goes the strict way. ``tests/property/test_fast_paths.py`` holds
    it to the strict decoder."""
    parts = cose.split_sign1(data)
    if parts is None:
        return cose.decode_sign1(data, what=what)
    protected_bytes, payload, signature = parts
    header, algorithm = _header_of(protected_bytes, what)
    return cose.CoseSign1(protected_bytes, dict(header), {}, payload, signature, algorithm)


# 32 credentials: a carousel repeats one, a queue of phones a few. Kept small on purpose: each
# first sight evicts the oldest entry, and freeing a parse made hundreds of scans ago (its
# objects long out of the CPU's caches) cost a first sight ~5 µs more at 256 entries.
@functools.lru_cache(maxsize=32)
def _decode_compact(data: bytes) -> CompactCredential:
    sign1 = _sign1_of(data, what="compact credential")
    protected = sign1.protected
    if protected.get(_CONTENT_TYPE_LABEL) != CONTENT_TYPE:
        raise UnsupportedError(
            "this is not a compact driving-licence credential (wrong content type)", code="wrong_type"
        )
    kid = protected.get(_KID_LABEL)
    if type(kid) is not bytes or len(kid) != 8:
        raise MalformedError("a compact credential names its signer by an 8-byte key id")
    if sign1.payload is None:
        raise MalformedError("a compact credential carries its claims")
    claims = cbor.decode(sign1.payload, what="compact credential claims", max_size=MAX_CREDENTIAL_SIZE)
    if not isinstance(claims, dict):
        raise MalformedError("compact credential claims must be a map with integer keys")
    # One pass: every claim's type is checked, and the licence data turned into elements.
    elements: dict[str, Any] = {}
    element_of = _ELEMENT_OF_INT
    for claim, value in claims.items():
        if type(claim) is not int:
            raise MalformedError("compact credential claims must be a map with integer keys")
        known = element_of.get(claim)
        if known is not None:
            ident, convert = known
            if convert is _text:  # inline: most claims are names and numbers
                if not isinstance(value, str):
                    raise MalformedError(f"{ident} must be text")
                elements[ident] = value
            else:
                elements[ident] = convert(value, ident)
    raw_profile = claims.get(_PROFILE)
    profile = _PROFILE_NAMES.get(raw_profile) if type(raw_profile) is int else None
    if profile is None:
        raise UnsupportedError(f"unknown compact credential profile {safe_repr(raw_profile)}")
    city = claims.get(_CITY)
    if not isinstance(city, str) or not city:
        raise MalformedError("a compact credential names its city")
    digest = claims.get(_DIGEST)
    if digest is not None and (type(digest) is not bytes or len(digest) != DIGEST_SIZE):
        raise MalformedError(f"the portrait digest is {DIGEST_SIZE} bytes")
    if digest is None and profile in _PORTRAIT_PROFILES:
        raise MalformedError(f"a {profile} credential signs its portrait digest")
    status = claims.get(_STATUS)
    if status is not None:
        if not (
            isinstance(status, (list, tuple))
            and len(status) == 2
            and all(type(s) is int and s >= 0 for s in status)
        ):
            raise MalformedError("status is [list id, index]")
        status = (status[0], status[1])
    issued = cbor.datetime_from_epoch(claims.get(_ISSUED), what="compact credential issue time")
    valid_until = cbor.datetime_from_epoch(claims.get(_VALID_UNTIL), what="compact credential valid-until")
    if valid_until <= issued:
        raise MalformedError("a compact credential must be valid for some time")
    return CompactCredential(
        raw=data,
        sign1=sign1,
        kid=kid,
        profile=profile,
        city=city,
        issued=issued,
        valid_until=valid_until,
        device_key=_device_key(claims.get(_DEVICE_KEY)),
        portrait_digest=digest,
        status=status,
        claims=MappingProxyType(claims),
        _elements=MappingProxyType(elements),
    )
