"""COSE_Sign1, COSE_Mac0 and COSE_Key (RFC 9052/9053) for the credential formats (hazmat layer).

This module owns signing and verifying single-signer COSE messages and converting keys
between COSE_Key maps and ``cryptography`` objects. It does not decide whom to trust
(see ``edl.x509`` and ``edl.verify``).

Policy, stricter than RFC 9052 allows and on purpose:

* The key decides the algorithm: ES256 only with P-256, ES384 with P-384, ES512 with P-521,
  EdDSA with Ed25519/Ed448, HMAC 256/256 with a 256-bit key. A message whose ``alg`` does
  not match the key is refused (:class:`~edl.errors.UnsupportedError`), so an attacker can
  never choose a weaker pairing.
* ``alg`` must be in the protected header (RFC 9052 §3.1 permits the unprotected one).
* A label in both buckets, an unknown ``crit`` label, or an ECDSA signature whose length is
  not exactly 2·n bytes are malformed.
* The bytes signed are the bytes received (protected header, payload), never re-encoded.

>>> from cryptography.hazmat.primitives.asymmetric import ec
>>> key = ec.generate_private_key(ec.SECP256R1())
>>> msg = sign1(KeySigner(key), b"hello")
>>> decode_sign1(msg).verify(key.public_key()).payload
b'hello'
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from . import cbor
from .errors import MalformedError, SignatureError, UnsupportedError, safe_repr

__all__ = [
    "Algorithm",
    "CoseMac0",
    "CoseSign",
    "CoseSign1",
    "CoseSignature",
    "Curve",
    "Header",
    "KeySigner",
    "KeyParam",
    "KeyType",
    "PublicKey",
    "Signer",
    "algorithm_for_key",
    "decode_mac0",
    "decode_sign",
    "decode_sign1",
    "encode_key",
    "key_from_cose",
    "key_to_cose",
    "mac0",
    "sign1",
    "sign1_body",
    "verify_signature",
]

TAG_SIGN1 = 18
TAG_MAC0 = 17

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


class Header(enum.IntEnum):
    """COSE header labels (RFC 9052 §3.1, RFC 9360)."""

    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    PARTIAL_IV = 6
    X5CHAIN = 33


class Algorithm(enum.IntEnum):
    """The algorithms we accept (RFC 9053)."""

    ES256 = -7
    ES384 = -35
    ES512 = -36
    EDDSA = -8
    HMAC_256_256 = 5


class KeyType(enum.IntEnum):
    OKP = 1
    EC2 = 2
    SYMMETRIC = 4


class KeyParam(enum.IntEnum):
    KTY = 1
    KID = 2
    ALG = 3
    CRV = -1
    X = -2
    Y = -3
    D = -4


class Curve(enum.IntEnum):
    P256 = 1
    P384 = 2
    P521 = 3
    X25519 = 4
    X448 = 5
    ED25519 = 6
    ED448 = 7


_EC_CURVES: dict[Curve, tuple[type[ec.EllipticCurve], int]] = {
    Curve.P256: (ec.SECP256R1, 32),
    Curve.P384: (ec.SECP384R1, 48),
    Curve.P521: (ec.SECP521R1, 66),
}
# curve objects are immutable: one of each, reused for every key read
_EC_CURVE_OBJECTS: dict[Any, tuple[ec.EllipticCurve, int]] = {
    int(c): (cls(), size) for c, (cls, size) in _EC_CURVES.items()
}
_CURVE_BY_NAME = {"secp256r1": Curve.P256, "secp384r1": Curve.P384, "secp521r1": Curve.P521}
_ECDSA: dict[Algorithm, tuple[str, hashes.HashAlgorithm, int, int]] = {
    # alg: (curve name, hash, coordinate size, group order)
    Algorithm.ES256: (
        "secp256r1",
        hashes.SHA256(),
        32,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    ),
    Algorithm.ES384: (
        "secp384r1",
        hashes.SHA384(),
        48,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
    ),
    Algorithm.ES512: (
        "secp521r1",
        hashes.SHA512(),
        66,
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
    ),
}
# alg: (the signature scheme object, reused: it is immutable; coordinate size; group order)
_ECDSA_VERIFY: dict[Algorithm, tuple[ec.ECDSA, int, int]] = {
    alg: (ec.ECDSA(digest), size, order) for alg, (_curve, digest, size, order) in _ECDSA.items()
}
_ALG_BY_CURVE = {"secp256r1": Algorithm.ES256, "secp384r1": Algorithm.ES384, "secp521r1": Algorithm.ES512}
# curve name: (its algorithm, the signature scheme object, coordinate size, group order)
_ECDSA_OF_CURVE: dict[str, tuple[Algorithm, ec.ECDSA, int, int]] = {
    name: (alg, *_ECDSA_VERIFY[alg]) for name, alg in _ALG_BY_CURVE.items()
}
# The classes cryptography gives EC keys: ``type(key) is`` one of them is an exact test that
# skips the ABC machinery of ``isinstance`` (which still decides for anything else).
_EC_PRIVATE_TYPE = type(ec.derive_private_key(1, ec.SECP256R1()))
_EC_PUBLIC_TYPE = type(ec.derive_private_key(1, ec.SECP256R1()).public_key())
_KNOWN_CRIT: frozenset[int | str] = frozenset()  # we understand no extension header that could be critical


def algorithm_for_key(key: PublicKey | PrivateKey) -> Algorithm:
    """The one algorithm this key may be used with (raises ``UnsupportedError`` otherwise)."""
    kind = type(key)
    if (
        kind is _EC_PUBLIC_TYPE
        or kind is _EC_PRIVATE_TYPE
        or isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey))
    ):
        curve_name = key.curve.name  # type: ignore[union-attr]
        alg = _ALG_BY_CURVE.get(curve_name)
        if alg is None:
            raise UnsupportedError(f"elliptic curve {curve_name} is not accepted")
        return alg
    if isinstance(
        key,
        (
            ed25519.Ed25519PublicKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PublicKey,
            ed448.Ed448PrivateKey,
        ),
    ):
        return Algorithm.EDDSA
    raise UnsupportedError(f"{type(key).__name__} keys are not accepted")


# --- signatures -------------------------------------------------------------------------


def verify_signature(key: PublicKey, alg: int, data: bytes, signature: bytes) -> None:
    """Check a raw COSE signature (ECDSA ``r‖s`` or EdDSA) of ``data``.

    Raises :class:`UnsupportedError` when ``alg`` does not belong to ``key`` and
    :class:`SignatureError` when the signature is wrong in any way.
    """
    if type(key) is _EC_PUBLIC_TYPE and type(signature) is bytes:
        # the usual case (cryptography's own EC key class, a byte string): the key's curve read
        # once, and the same checks as below
        known = _ECDSA_OF_CURVE.get(key.curve.name)
        if known is not None and known[0] == alg:
            _verify_ecdsa(key, alg, known[1:], data, signature)
            return
    expected = algorithm_for_key(key)
    if alg != expected:
        raise UnsupportedError(
            f"algorithm {_alg_name(alg)} cannot be used with this {_key_name(key)} key (only {expected.name})"
        )
    if not isinstance(signature, bytes):
        raise MalformedError("signature must be a byte string")
    if type(key) is _EC_PUBLIC_TYPE or isinstance(key, ec.EllipticCurvePublicKey):
        _verify_ecdsa(key, alg, _ECDSA_VERIFY[expected], data, signature)
        return
    try:
        key.verify(signature, data)  # Ed25519 / Ed448 check lengths and canonical S
    except InvalidSignature:
        raise SignatureError("signature does not match the signed data") from None


def _verify_ecdsa(
    key: ec.EllipticCurvePublicKey,
    alg: int,
    params: tuple[ec.ECDSA, int, int],
    data: bytes,
    signature: bytes,
) -> None:
    """An ECDSA ``r‖s`` signature of ``data`` (``params``: scheme, coordinate size, group order)."""
    scheme, size, order = params
    if len(signature) != 2 * size:
        raise SignatureError(f"ECDSA signature is {len(signature)} bytes; {_alg_name(alg)} needs {2 * size}")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    if not (0 < r < order and 0 < s < order):
        raise SignatureError("ECDSA signature values are out of range")
    try:
        key.verify(encode_dss_signature(r, s), data, scheme)
    except InvalidSignature:
        raise SignatureError("signature does not match the signed data") from None


@runtime_checkable
class Signer(Protocol):
    """Something that signs with a private key it keeps to itself (a file, an HSM, a phone).

    ``algorithm`` is the COSE algorithm; ``sign`` returns the raw COSE signature
    (``r‖s`` for ECDSA).
    """

    @property
    def algorithm(self) -> Algorithm: ...

    def public_key(self) -> PublicKey: ...

    def sign(self, data: bytes) -> bytes: ...


class KeySigner:
    """A :class:`Signer` over a private key object held in this process."""

    __slots__ = ("_key", "_alg", "_public")

    def __init__(self, private_key: PrivateKey) -> None:
        self._alg = algorithm_for_key(private_key)
        self._key = private_key
        self._public = private_key.public_key()

    def __repr__(self) -> str:  # never show key material
        return f"KeySigner({self._alg.name})"

    @property
    def algorithm(self) -> Algorithm:
        return self._alg

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        key = self._key
        if type(key) is _EC_PRIVATE_TYPE or isinstance(key, ec.EllipticCurvePrivateKey):
            scheme, size, _order = _ECDSA_VERIFY[self._alg]  # the scheme object is immutable
            r, s = decode_dss_signature(key.sign(data, scheme))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return key.sign(data)


# --- COSE_Sign1 -------------------------------------------------------------------------


def _framed(prefix: bytes, *parts: bytes) -> bytes:
    """``prefix`` (an array head and its context text) then each part as a byte string, framed
    by hand so the received bytes go in untouched (never re-encoded)."""
    out = [prefix]
    for part in parts:
        out.append(cbor.head(2, len(part)))
        out.append(part)
    return b"".join(out)


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    # Sig_structure = ["Signature1", body_protected, external_aad, payload] (RFC 9052 §4.4),
    # framed as _framed frames it, unrolled: every signature checked goes through here
    head = cbor.head
    return b"".join(
        (
            b"\x84\x6aSignature1",
            head(2, len(protected)),
            protected,
            head(2, len(external_aad)) if external_aad else b"\x40",
            external_aad,
            head(2, len(payload)),
            payload,
        )
    )


_ALG_ONLY = {int(a): cbor.encode({int(Header.ALG): int(a)}) for a in Algorithm}


def _label(label: int | str) -> Any:
    """A header label as it goes on the wire: an integer (IntEnum → int) or text."""
    return label if isinstance(label, str) else int(label)


def _encode_protected(headers: Mapping[int, Any]) -> bytes:
    if len(headers) == 1 and Header.ALG in headers:
        cached = _ALG_ONLY.get(headers[Header.ALG])
        if cached is not None:
            return cached
    return cbor.encode(dict(headers)) if headers else b""


def sign1(
    signer: Signer,
    payload: bytes,
    *,
    protected: Mapping[int, Any] | None = None,
    unprotected: Mapping[int, Any] | None = None,
    detached: bool = False,
    external_aad: bytes = b"",
    tagged: bool = False,
) -> bytes:
    """Sign ``payload`` into an encoded COSE_Sign1 (untagged unless ``tagged``).

    ``alg`` is set from the signer; ``protected`` adds further protected headers.
    With ``detached`` the payload is signed but sent as ``nil``.
    """
    body = sign1_body(
        signer,
        payload,
        protected=protected,
        unprotected=unprotected,
        detached=detached,
        external_aad=external_aad,
    )
    return cbor.encode(cbor.CBORTag(TAG_SIGN1, body) if tagged else body)


def sign1_body(
    signer: Signer,
    payload: bytes,
    *,
    protected: Mapping[int, Any] | None = None,
    unprotected: Mapping[int, Any] | None = None,
    detached: bool = False,
    external_aad: bytes = b"",
) -> list[Any]:
    """Like :func:`sign1` but returns the COSE_Sign1 array to embed in a larger structure."""
    if (protected and Header.ALG in protected) or (unprotected and Header.ALG in unprotected):
        raise ValueError("alg comes from the signer's key; do not set it in the headers")
    if protected:
        headers: dict[int, Any] = {Header.ALG: int(signer.algorithm)}
        headers.update({int(k): v for k, v in protected.items()})
        protected_bytes = _encode_protected(headers)
    else:
        alg = int(signer.algorithm)
        protected_bytes = _ALG_ONLY.get(alg) or _encode_protected({Header.ALG: alg})
    signature = signer.sign(_sig_structure(protected_bytes, external_aad, payload))
    return [
        protected_bytes,
        {int(k): v for k, v in (unprotected or {}).items()},
        None if detached else payload,
        signature,
    ]


def _check_labels(bucket: Mapping[Any, Any], what: str) -> None:
    for label in bucket:
        if not isinstance(label, (int, str)) or isinstance(label, bool):
            raise MalformedError(f"{what}: header labels must be integers or text")


@functools.lru_cache(maxsize=256)
def _decode_protected(protected_bytes: bytes, what: str) -> dict[Any, Any]:
    # Protected headers repeat (every frame, every credential of a signer): decode and check
    # each once. Callers get a copy. Failures raise and are not cached.
    protected = cbor.decode(protected_bytes, what=f"{what} protected header")
    if not isinstance(protected, dict):
        raise MalformedError(f"{what}: protected header must encode a map")
    _check_labels(protected, what)
    crit = protected.get(Header.CRIT)
    if crit is not None:
        if not isinstance(crit, list) or not crit:
            raise MalformedError(f"{what}: crit must be a non-empty array")
        if not all(isinstance(label, (int, str)) and not isinstance(label, bool) for label in crit):
            raise MalformedError(f"{what}: crit labels must be integers or text")
        unknown = [label for label in crit if label not in _KNOWN_CRIT]
        if unknown:
            raise UnsupportedError(f"{what}: critical header {safe_repr(unknown)} is not understood")
    return protected


def _parse_headers(
    protected_bytes: Any, unprotected: Any, *, what: str
) -> tuple[bytes, dict[int, Any], dict[int, Any]]:
    if not isinstance(protected_bytes, bytes):
        raise MalformedError(f"{what}: protected header must be a byte string")
    if not isinstance(unprotected, Mapping):  # cbor2 gives a frozendict inside a tag
        raise MalformedError(f"{what}: unprotected header must be a map")
    protected: dict[Any, Any] = dict(_decode_protected(protected_bytes, what)) if protected_bytes else {}
    if not unprotected:
        return protected_bytes, protected, {}
    unprotected = dict(unprotected)
    _check_labels(unprotected, what)
    both = protected.keys() & unprotected.keys()
    if both:
        raise MalformedError(f"{what}: header {safe_repr(sorted(both, key=safe_repr))} is in both buckets")
    if Header.ALG in unprotected:
        raise UnsupportedError(f"{what}: the algorithm must be in the protected header")
    return protected_bytes, protected, unprotected


_ALGORITHMS = {int(a): a for a in Algorithm}


def _alg_of(protected: dict[int, Any], *, what: str) -> Algorithm:
    alg = protected.get(1)  # Header.ALG
    if type(alg) is int:
        known = _ALGORITHMS.get(alg)
        if known is not None:
            return known
    if alg is None:
        raise UnsupportedError(f"{what}: no algorithm in the protected header")
    if not isinstance(alg, int) or isinstance(alg, bool):
        raise UnsupportedError(f"{what}: algorithm {safe_repr(alg)} is not accepted")
    try:
        return Algorithm(alg)
    except ValueError:
        raise UnsupportedError(f"{what}: algorithm {safe_repr(alg)} is not accepted") from None


def _untag(value: Any, tag: int, *, what: str) -> Any:
    if isinstance(value, cbor.CBORTag):
        if value.tag != tag:
            raise MalformedError(f"{what}: tag {value.tag} where {tag} or none was expected")
        value = value.value
    # cbor2 decodes the content of a tag it does not know (18, 17) as immutable: a tuple.
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise MalformedError(f"{what} must be an array of 4 elements")
    return value


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A parsed, **unverified** COSE_Sign1. Call :meth:`verify` before using its payload."""

    protected_bytes: bytes
    protected: dict[int, Any]
    unprotected: dict[int, Any]
    payload: bytes | None
    signature: bytes
    algorithm: Algorithm

    @classmethod
    def from_value(cls, value: Any, *, what: str = "COSE_Sign1") -> CoseSign1:
        """Parse an already-decoded COSE_Sign1 (tag 18 or untagged)."""
        prot, unprot, payload, signature = _untag(value, TAG_SIGN1, what=what)
        protected_bytes, protected, unprotected = _parse_headers(prot, unprot, what=what)
        if payload is not None and not isinstance(payload, bytes):
            raise MalformedError(f"{what}: payload must be a byte string or nil")
        if not isinstance(signature, bytes):
            raise MalformedError(f"{what}: signature must be a byte string")
        return cls(
            protected_bytes=protected_bytes,
            protected=protected,
            unprotected=unprotected,
            payload=payload,
            signature=signature,
            algorithm=_alg_of(protected, what=what),
        )

    @classmethod
    def from_parts(cls, protected_bytes: bytes, payload: bytes, signature: bytes, *, what: str) -> CoseSign1:
        """A COSE_Sign1 with an empty unprotected header, from :func:`split_sign1`'s parts."""
        protected: dict[Any, Any] = dict(_decode_protected(protected_bytes, what)) if protected_bytes else {}
        return cls(protected_bytes, protected, {}, payload, signature, _alg_of(protected, what=what))

    def header(self, label: int) -> Any:
        """A header value from the protected bucket, else the unprotected one."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    def to_be_signed(self, *, detached_payload: bytes | None = None, external_aad: bytes = b"") -> bytes:
        payload = self._payload_for(detached_payload)
        return _sig_structure(self.protected_bytes, external_aad, payload)

    def _payload_for(self, detached_payload: bytes | None) -> bytes:
        if self.payload is None:
            if detached_payload is None:
                raise MalformedError("the signed content is detached and was not supplied")
            return detached_payload
        if detached_payload is not None:
            raise MalformedError("a detached payload was supplied for an attached one")
        return self.payload

    def verify(
        self,
        key: PublicKey,
        *,
        detached_payload: bytes | None = None,
        external_aad: bytes = b"",
    ) -> CoseSign1:
        """Check the signature with ``key``; return ``self`` so calls can chain."""
        payload = self.payload
        if payload is None or detached_payload is not None:
            payload = self._payload_for(detached_payload)
        verify_signature(
            key, self.algorithm, _sig_structure(self.protected_bytes, external_aad, payload), self.signature
        )
        return self


def decode_sign1(data: bytes, *, what: str = "COSE_Sign1") -> CoseSign1:
    """Parse encoded COSE_Sign1 bytes (tag 18 or untagged) without verifying."""
    parts = split_sign1(data)
    if parts is not None:
        return CoseSign1.from_parts(*parts, what=what)
    return CoseSign1.from_value(cbor.decode(data, what=what), what=what)


def split_sign1(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(protected, payload, signature) of a COSE_Sign1 in the layout every QR frame and
    compact credential has: ``[bstr, {}, bstr, bstr]`` (untagged or tag 18), definite lengths,
    nothing after it. ``None`` for any other bytes, which the strict decoder then judges.

    A fast path only: what it accepts, the strict decoder decodes to the same values
    (``tests/property/test_fast_paths.py`` holds it to that)."""
    if type(data) is not bytes:  # a bytearray or memoryview: the strict decoder copies it
        return None
    at = 2 if data[:2] == b"\xd2\x84" else 1 if data[:1] == b"\x84" else 0
    if not at or len(data) > cbor.DEFAULT_MAX_SIZE:
        return None
    size = len(data)
    parts: list[bytes] = []
    for index in range(4):
        if index == 1:
            if data[at : at + 1] != b"\xa0":
                return None
            at += 1
            continue
        # a byte string's head (major type 2), read inline: argument < 24, or 1 or 2 bytes
        first = data[at] if at < size else 0
        if 0x40 <= first <= 0x57:
            start = at + 1
            at = start + first - 0x40
        elif first == 0x58 and at + 2 <= size:
            start = at + 2
            at = start + data[at + 1]
        elif first == 0x59 and at + 3 <= size:
            start = at + 3
            at = start + (data[at + 1] << 8 | data[at + 2])
        else:
            head = cbor.read_head(data, at)
            if head is None or head[0] != 2:
                return None
            start, at = head[2], head[2] + head[1]
        if at > size:
            return None
        parts.append(data[start:at])
    if at != size:
        return None
    return parts[0], parts[1], parts[2]


# --- COSE_Mac0 --------------------------------------------------------------------------


def _mac_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    # MAC_structure = ["MAC0", protected, external_aad, payload] (RFC 9052 §6.3)
    return _framed(b"\x84\x64MAC0", protected, external_aad, payload)


def _check_mac_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise ValueError("HMAC 256/256 needs a 32-byte key")


def mac0(
    key: bytes,
    payload: bytes,
    *,
    detached: bool = False,
    external_aad: bytes = b"",
    unprotected: Mapping[int, Any] | None = None,
    tagged: bool = False,
) -> bytes:
    """MAC ``payload`` with HMAC 256/256 into an encoded COSE_Mac0."""
    _check_mac_key(key)
    protected_bytes = _encode_protected({Header.ALG: int(Algorithm.HMAC_256_256)})
    tag = hmac.new(key, _mac_structure(protected_bytes, external_aad, payload), hashlib.sha256).digest()
    body = [protected_bytes, dict(unprotected or {}), None if detached else payload, tag]
    return cbor.encode(cbor.CBORTag(TAG_MAC0, body) if tagged else body)


@dataclass(frozen=True, slots=True)
class CoseMac0:
    """A parsed, **unverified** COSE_Mac0."""

    protected_bytes: bytes
    protected: dict[int, Any]
    unprotected: dict[int, Any]
    payload: bytes | None
    tag: bytes
    algorithm: Algorithm = field(default=Algorithm.HMAC_256_256)

    @classmethod
    def from_value(cls, value: Any, *, what: str = "COSE_Mac0") -> CoseMac0:
        prot, unprot, payload, tag = _untag(value, TAG_MAC0, what=what)
        protected_bytes, protected, unprotected = _parse_headers(prot, unprot, what=what)
        if payload is not None and not isinstance(payload, bytes):
            raise MalformedError(f"{what}: payload must be a byte string or nil")
        if not isinstance(tag, bytes):
            raise MalformedError(f"{what}: tag must be a byte string")
        alg = _alg_of(protected, what=what)
        if alg is not Algorithm.HMAC_256_256:
            raise UnsupportedError(f"{what}: algorithm {alg.name} is not a MAC we accept")
        return cls(
            protected_bytes=protected_bytes,
            protected=protected,
            unprotected=unprotected,
            payload=payload,
            tag=tag,
            algorithm=alg,
        )

    def verify(
        self, key: bytes, *, detached_payload: bytes | None = None, external_aad: bytes = b""
    ) -> CoseMac0:
        _check_mac_key(key)
        if self.payload is None:
            if detached_payload is None:
                raise MalformedError("the MACed content is detached and was not supplied")
            payload = detached_payload
        else:
            if detached_payload is not None:
                raise MalformedError("a detached payload was supplied for an attached one")
            payload = self.payload
        expected = hmac.new(
            key, _mac_structure(self.protected_bytes, external_aad, payload), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, self.tag):
            raise SignatureError("MAC does not match the authenticated data")
        return self


def decode_mac0(data: bytes, *, what: str = "COSE_Mac0") -> CoseMac0:
    return CoseMac0.from_value(cbor.decode(data, what=what), what=what)


# --- COSE_Key ---------------------------------------------------------------------------


def _coord(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise MalformedError(f"COSE_Key {name} must be a {size}-byte string")
    return value


def key_from_cose(cose_key: Any) -> PublicKey:
    """A public key from a decoded COSE_Key map (EC2 with x/y or compressed y; OKP)."""
    if not isinstance(cose_key, dict):
        raise MalformedError("COSE_Key must be a map")
    kty = cose_key.get(1)  # KeyParam.KTY (plain ints: an IntEnum key hashes slower)
    crv = cose_key.get(-1)  # KeyParam.CRV
    x = cose_key.get(-2)  # KeyParam.X
    for value in (kty, crv):  # every key we accept has integer kty and crv (a bool is no int here)
        if not isinstance(value, int) or isinstance(value, bool):
            raise UnsupportedError(
                f"COSE_Key type {safe_repr(kty)} with curve {safe_repr(crv)} is not accepted"
            )
    try:
        if kty == 2:  # KeyType.EC2
            known = _EC_CURVE_OBJECTS.get(crv)
            if known is None:
                raise UnsupportedError(f"COSE_Key curve {safe_repr(crv)} is not accepted")
            curve, size = known
            xb = _coord(x, size, "x")
            y = cose_key.get(-3)  # KeyParam.Y
            if isinstance(y, bool):  # compressed point: y is the sign bit
                point = (b"\x03" if y else b"\x02") + xb
            else:
                point = b"\x04" + xb + _coord(y, size, "y")
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        if kty == KeyType.OKP:
            if crv == Curve.ED25519:
                return ed25519.Ed25519PublicKey.from_public_bytes(_coord(x, 32, "x"))
            if crv == Curve.ED448:
                return ed448.Ed448PublicKey.from_public_bytes(_coord(x, 57, "x"))
            raise UnsupportedError(f"COSE_Key OKP curve {safe_repr(crv)} is not accepted for signing")
    except ValueError as e:
        raise MalformedError(f"COSE_Key is not a valid point ({e})") from e
    raise UnsupportedError(f"COSE_Key type {safe_repr(kty)} is not accepted")


def key_to_cose(key: PublicKey) -> dict[int, Any]:
    """A COSE_Key map (uncompressed EC2, or OKP) for a public key."""
    if type(key) is _EC_PUBLIC_TYPE or isinstance(key, ec.EllipticCurvePublicKey):
        crv = _CURVE_BY_NAME.get(key.curve.name)
        if crv is None:
            raise UnsupportedError(f"elliptic curve {key.curve.name} is not accepted")
        _cls, size = _EC_CURVES[crv]
        point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {
            KeyParam.KTY: int(KeyType.EC2),
            KeyParam.CRV: int(crv),
            KeyParam.X: point[1 : 1 + size],
            KeyParam.Y: point[1 + size :],
        }
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {
            KeyParam.KTY: int(KeyType.OKP),
            KeyParam.CRV: int(Curve.ED25519),
            KeyParam.X: key.public_bytes_raw(),
        }
    if isinstance(key, ed448.Ed448PublicKey):
        return {
            KeyParam.KTY: int(KeyType.OKP),
            KeyParam.CRV: int(Curve.ED448),
            KeyParam.X: key.public_bytes_raw(),
        }
    raise UnsupportedError(f"{type(key).__name__} keys are not accepted")


# By curve name: what precedes x in {1: 2 (EC2), -1: crv, -2: x, -3: y}, and the head of a
# coordinate (a byte string of the curve's size)
_EC2_KEY_PARTS = {
    name: (
        b"\xa4\x01\x02\x20" + cbor.encode(int(crv)) + b"\x21" + cbor.head(2, _EC_CURVES[crv][1]),
        b"\x22" + cbor.head(2, _EC_CURVES[crv][1]),
        _EC_CURVES[crv][1],
    )
    for name, crv in _CURVE_BY_NAME.items()
}
_X962 = serialization.Encoding.X962
_UNCOMPRESSED = serialization.PublicFormat.UncompressedPoint


def encode_key(key: PublicKey) -> bytes:
    """The deterministic encoding of :func:`key_to_cose` (what an MSO's deviceKey holds), framed
    around the point's coordinates for cryptography's own EC keys."""
    if type(key) is _EC_PUBLIC_TYPE:
        parts = _EC2_KEY_PARTS.get(key.curve.name)
        if parts is not None:
            before_x, before_y, size = parts
            point = key.public_bytes(_X962, _UNCOMPRESSED)
            return b"".join((before_x, point[1 : 1 + size], before_y, point[1 + size :]))
    return cbor.encode(key_to_cose(key))


def _alg_name(alg: int) -> str:
    try:
        return Algorithm(alg).name
    except ValueError:
        return safe_repr(alg)


def _key_name(key: Any) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name
    return type(key).__name__.replace("PublicKey", "")


# --- COSE_Sign (several signers) --------------------------------------------------------

TAG_SIGN = 98


def _multi_sig_structure(
    body_protected: bytes, sign_protected: bytes, external_aad: bytes, payload: bytes
) -> bytes:
    # Sig_structure = ["Signature", body_protected, sign_protected, external_aad, payload] (RFC 9052 §4.4)
    return _framed(b"\x85\x69Signature", body_protected, sign_protected, external_aad, payload)


@dataclass(frozen=True, slots=True)
class CoseSignature:
    """One signer's entry of a COSE_Sign: its headers (``kid`` names the key) and signature."""

    protected_bytes: bytes
    protected: dict[int, Any]
    unprotected: dict[int, Any]
    signature: bytes
    algorithm: Algorithm | None
    """None when the signer used an algorithm we do not accept (the signature never verifies)."""

    @property
    def kid(self) -> bytes | None:
        kid = self.protected.get(Header.KID, self.unprotected.get(Header.KID))
        return kid if isinstance(kid, bytes) else None

    def to_value(self) -> list[Any]:
        return [self.protected_bytes, dict(self.unprotected), self.signature]


MAX_SIGNATURES = 64
"""Most signatures a COSE_Sign may carry (each is parsed; a trust list needs a handful)."""


@dataclass(frozen=True, slots=True)
class CoseSign:
    """A parsed, **unverified** COSE_Sign (RFC 9052 §4.1): one payload, several signatures."""

    protected_bytes: bytes
    protected: dict[int, Any]
    unprotected: dict[int, Any]
    payload: bytes
    signatures: tuple[CoseSignature, ...]

    def verify_signature(
        self, signature: CoseSignature, key: PublicKey, *, external_aad: bytes = b""
    ) -> None:
        """Raise unless ``signature`` (one of :attr:`signatures`) verifies with ``key``."""
        if signature.algorithm is None:
            raise UnsupportedError("this signature uses an algorithm that is not accepted")
        data = _multi_sig_structure(
            self.protected_bytes, signature.protected_bytes, external_aad, self.payload
        )
        verify_signature(key, signature.algorithm, data, signature.signature)

    def with_signature(self, signer: Signer, kid: bytes, *, external_aad: bytes = b"") -> CoseSign:
        """A copy with one more signature by ``signer`` (named by ``kid``)."""
        sign_protected = _encode_protected({Header.ALG: int(signer.algorithm)})
        sig = signer.sign(
            _multi_sig_structure(self.protected_bytes, sign_protected, external_aad, self.payload)
        )
        entry = CoseSignature(
            protected_bytes=sign_protected,
            protected={int(Header.ALG): int(signer.algorithm)},
            unprotected={int(Header.KID): kid},
            signature=sig,
            algorithm=signer.algorithm,
        )
        return CoseSign(
            protected_bytes=self.protected_bytes,
            protected=self.protected,
            unprotected=self.unprotected,
            payload=self.payload,
            signatures=(*self.signatures, entry),
        )

    def to_bytes(self) -> bytes:
        body = [
            self.protected_bytes,
            dict(self.unprotected),
            self.payload,
            [s.to_value() for s in self.signatures],
        ]
        return cbor.encode(cbor.CBORTag(TAG_SIGN, body))

    @classmethod
    def create(
        cls,
        payload: bytes,
        *,
        protected: Mapping[int, Any] | None = None,
        unprotected: Mapping[Any, Any] | None = None,
    ) -> CoseSign:
        """An unsigned COSE_Sign to add signatures to with :meth:`with_signature`."""
        headers = {int(k): v for k, v in (protected or {}).items()}
        return cls(
            protected_bytes=_encode_protected(headers),
            protected=headers,
            unprotected={_label(k): v for k, v in (unprotected or {}).items()},
            payload=payload,
            signatures=(),
        )

    @classmethod
    def from_value(cls, value: Any, *, what: str = "COSE_Sign") -> CoseSign:
        prot, unprot, payload, signatures = _untag(value, TAG_SIGN, what=what)
        protected_bytes, protected, unprotected = _parse_headers(prot, unprot, what=what)
        if not isinstance(payload, bytes):
            raise MalformedError(f"{what}: payload must be a byte string")
        if not isinstance(signatures, (list, tuple)):
            raise MalformedError(f"{what}: signatures must be an array")
        if len(signatures) > MAX_SIGNATURES:
            raise MalformedError(f"{what}: more than {MAX_SIGNATURES} signatures")
        parsed = []
        for i, entry in enumerate(signatures):
            w = f"{what} signature {i}"
            if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                raise MalformedError(f"{w} must be an array of 3 elements")
            sp, su, sig = entry
            sp_bytes, sp_map, su_map = _parse_headers(sp, su, what=w)
            if not isinstance(sig, bytes):
                raise MalformedError(f"{w}: signature must be a byte string")
            try:
                alg: Algorithm | None = _alg_of(sp_map, what=w)
            except UnsupportedError:
                alg = None  # an algorithm we do not accept: this signature simply does not count
            parsed.append(
                CoseSignature(
                    protected_bytes=sp_bytes,
                    protected=sp_map,
                    unprotected=su_map,
                    signature=sig,
                    algorithm=alg,
                )
            )
        return cls(
            protected_bytes=protected_bytes,
            protected=protected,
            unprotected=unprotected,
            payload=payload,
            signatures=tuple(parsed),
        )


def decode_sign(data: bytes, *, what: str = "COSE_Sign", max_size: int = cbor.DEFAULT_MAX_SIZE) -> CoseSign:
    """Parse encoded COSE_Sign bytes (tag 98 or untagged) without verifying."""
    return CoseSign.from_value(cbor.decode(data, what=what, max_size=max_size), what=what)
