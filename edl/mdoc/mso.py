"""MobileSecurityObject (ISO/IEC 18013-5 §9.1.2.4): what the issuer signs about a document.

This module owns the MSO structure: value digests per namespace, the holder's device key,
the validity period, the docType and an optional status reference
(``status: {"status_list": {"idx", "uri"}}``, IETF Token Status List). Parsing gives an
object whose signature has not been checked; ``edl.verify`` does that.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cbor2 import dumps as cbor2_dumps

from .. import cbor, cose
from ..errors import MalformedError, UnsupportedError, safe_repr

__all__ = ["DeviceKeyInfo", "MobileSecurityObject", "StatusReference", "ValidityInfo", "encode_mso"]

MSO_VERSION = "1.0"
DIGEST_ALGORITHMS = ("SHA-256", "SHA-384", "SHA-512")


DIGEST_SIZE = {"SHA-256": 32, "SHA-384": 48, "SHA-512": 64}
_MAX_DIGEST_ID = 2**64


_INT = frozenset({int})
_BYTES = frozenset({bytes})


def digests_well_formed(per_ns: dict[Any, Any], size: int) -> bool:
    """True when every digest ID is an int in [0, 2^64) and every digest ``size`` bytes: the
    loop in ``from_value`` decides the same (and says what is wrong), one entry at a time."""
    if not per_ns:
        return True
    values = per_ns.values()
    return (
        set(map(type, per_ns)) == _INT
        and min(per_ns) >= 0
        and max(per_ns) < _MAX_DIGEST_ID
        and set(map(type, values)) == _BYTES
        and set(map(len, values)) == {size}
    )


def split_tag24(data: bytes) -> bytes | None:
    """The bytes inside ``#6.24(bstr)`` when ``data`` is exactly that with a definite-length
    byte string (what every issuer writes); ``None`` otherwise, and the strict decoder decides.
    A fast path only: ``tests/property/test_mdoc_fast_paths.py`` holds it to the decoder."""
    if type(data) is not bytes or data[:2] != b"\xd8\x18":
        return None
    head = cbor.read_head(data, 2)
    if head is None or head[0] != 2 or head[2] + head[1] != len(data) or len(data) > cbor.DEFAULT_MAX_SIZE:
        return None
    return data[head[2] :]


def _tdate(value: Any, what: str) -> _dt.datetime:
    if not isinstance(value, _dt.datetime) or value.utcoffset() is None:
        raise MalformedError(f"MSO {what} must be a tdate (tag 0)")
    return value


def _key_order(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return (len(cbor.head(3, len(encoded))) + len(encoded), encoded)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidityInfo:
    signed: _dt.datetime
    valid_from: _dt.datetime
    valid_until: _dt.datetime
    expected_update: _dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("signed", "valid_from", "valid_until"):
            if getattr(self, name).utcoffset() is None:
                raise ValueError(f"validity {name} must be timezone-aware")
        if self.valid_until <= self.valid_from:
            raise ValueError("validUntil must be after validFrom")

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "signed": cbor.tdate(self.signed),
            "validFrom": cbor.tdate(self.valid_from),
            "validUntil": cbor.tdate(self.valid_until),
        }
        if self.expected_update is not None:
            out["expectedUpdate"] = cbor.tdate(self.expected_update)
        return out

    @classmethod
    def from_value(cls, value: Any) -> ValidityInfo:
        if not isinstance(value, dict):
            raise MalformedError("MSO validityInfo must be a map")
        try:
            signed = _tdate(value["signed"], "signed")
            valid_from = _tdate(value["validFrom"], "validFrom")
            valid_until = _tdate(value["validUntil"], "validUntil")
        except KeyError as e:
            raise MalformedError(f"MSO validityInfo lacks {e.args[0]}") from None
        expected = value.get("expectedUpdate")
        if valid_until <= valid_from:
            raise MalformedError("MSO validUntil is not after validFrom")
        return cls(
            signed=signed,
            valid_from=valid_from,
            valid_until=valid_until,
            expected_update=None if expected is None else _tdate(expected, "expectedUpdate"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReference:
    """Where to look up this credential's status: index ``idx`` in the list at ``uri``."""

    idx: int
    uri: str

    def to_value(self) -> dict[str, Any]:
        return {"status_list": {"idx": self.idx, "uri": self.uri}}

    @classmethod
    def from_value(cls, value: Any) -> StatusReference:
        sl = value.get("status_list") if isinstance(value, dict) else None
        if not isinstance(sl, dict):
            raise MalformedError("MSO status must be {status_list: {idx, uri}}")
        idx, uri = sl.get("idx"), sl.get("uri")
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
            raise MalformedError("MSO status_list needs an unsigned idx and a text uri")
        return cls(idx=idx, uri=uri)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceKeyInfo:
    device_key: cose.PublicKey
    key_authorizations: dict[str, Any] | None = None
    key_info: dict[Any, Any] | None = None

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {"deviceKey": cose.key_to_cose(self.device_key)}
        if self.key_authorizations is not None:
            out["keyAuthorizations"] = self.key_authorizations
        if self.key_info is not None:
            out["keyInfo"] = self.key_info
        return out

    @classmethod
    def from_value(cls, value: Any) -> DeviceKeyInfo:
        if not isinstance(value, dict) or "deviceKey" not in value:
            raise MalformedError("MSO deviceKeyInfo must be a map with deviceKey")
        auth = value.get("keyAuthorizations")
        info = value.get("keyInfo")
        if auth is not None and not isinstance(auth, dict):
            raise MalformedError("MSO keyAuthorizations must be a map")
        return cls(device_key=cose.key_from_cose(value["deviceKey"]), key_authorizations=auth, key_info=info)


def encode_mso(
    doc_type: str,
    value_digests: Mapping[str, Mapping[int, bytes]],
    device_key: cose.PublicKey,
    *,
    signed: _dt.datetime,
    valid_from: _dt.datetime,
    valid_until: _dt.datetime,
    expected_update: _dt.datetime | None = None,
    status: StatusReference | None = None,
    digest_algorithm: str = "SHA-256",
    version: str = MSO_VERSION,
) -> bytes:
    """``MobileSecurityObjectBytes`` of an MSO with text namespaces and no extra fields, in
    deterministic encoding (the bytes ``MobileSecurityObject.to_bytes`` gives: issuing calls
    this directly, without building the objects).

    The map is framed in length-first key order (status, docType, version, validityInfo,
    valueDigests, deviceKeyInfo, digestAlgorithm; validityInfo's keys likewise); cbor2 encodes
    each value, the digest maps built in key order. ``tests/unit/test_mdoc_encoding.py`` holds
    it to ``cbor.encode``."""
    signed_bytes = _tdate_bytes(signed)
    parts = [_MSO_HEAD_7 + cbor.encode(status.to_value()) if status is not None else _MSO_HEAD_6]
    parts += (
        b"\x67docType",
        cbor2_dumps(doc_type),
        b"\x67version",
        cbor2_dumps(version),
        b"\x6cvalidityInfo\xa4\x66signed"
        if expected_update is not None
        else b"\x6cvalidityInfo\xa3\x66signed",
        signed_bytes,
        b"\x69validFrom",
        signed_bytes if valid_from is signed else _tdate_bytes(valid_from),
        b"\x6avalidUntil",
        _tdate_bytes(valid_until),
    )
    if expected_update is not None:
        parts += (b"\x6eexpectedUpdate", _tdate_bytes(expected_update))
    if len(value_digests) == 1:
        digests = {ns: dict(sorted(d.items())) for ns, d in value_digests.items()}
    else:
        digests = {
            ns: dict(sorted(d.items()))
            for ns, d in sorted(value_digests.items(), key=lambda kv: _key_order(kv[0]))
        }
    parts += (
        b"\x6cvalueDigests",
        cbor2_dumps(digests),
        b"\x6ddeviceKeyInfo\xa1\x69deviceKey",
        cose.encode_key(device_key),
        b"\x6fdigestAlgorithm",
        cbor2_dumps(digest_algorithm),
    )
    return cbor.encode_tag24(b"".join(parts))


_MSO_HEAD_6 = b"\xa6"  # docType, version, validityInfo, valueDigests, deviceKeyInfo, digestAlgorithm
_MSO_HEAD_7 = b"\xa7\x66status"  # and status, first


def _tdate_bytes(moment: _dt.datetime) -> bytes:
    """The encoding of :func:`cbor.tdate` (tag 0 and the text: one encoding only)."""
    return cbor2_dumps(cbor.tdate(moment))


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileSecurityObject:
    doc_type: str
    value_digests: Mapping[str, Mapping[int, bytes]]
    device_key_info: DeviceKeyInfo
    validity_info: ValidityInfo
    digest_algorithm: str = "SHA-256"
    version: str = MSO_VERSION
    status: StatusReference | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Fields we do not know, kept as received."""

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "version": self.version,
                "digestAlgorithm": self.digest_algorithm,
                "valueDigests": {ns: dict(d) for ns, d in self.value_digests.items()},
                "deviceKeyInfo": self.device_key_info.to_value(),
                "docType": self.doc_type,
                "validityInfo": self.validity_info.to_value(),
            }
        )
        if self.status is not None:
            out["status"] = self.status.to_value()
        return out

    def to_bytes(self) -> bytes:
        """``MobileSecurityObjectBytes`` = ``#6.24(bstr .cbor MSO)``: the issuerAuth payload.

        Deterministic: maps in length-first key order (the same bytes as ``cbor.encode``);
        the common shape is ordered here directly, which is 3x faster than sorting in cbor2.
        """
        dki = self.device_key_info
        if (
            self.extra
            or dki.key_authorizations is not None
            or dki.key_info is not None
            or any(type(ns) is not str for ns in self.value_digests)
        ):
            return cbor.encode_tag24(cbor.encode(self.to_value()))
        v = self.validity_info
        return encode_mso(
            self.doc_type,
            self.value_digests,
            dki.device_key,
            signed=v.signed,
            valid_from=v.valid_from,
            valid_until=v.valid_until,
            expected_update=v.expected_update,
            status=self.status,
            digest_algorithm=self.digest_algorithm,
            version=self.version,
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> MobileSecurityObject:
        """Parse an issuerAuth payload (``#6.24(bstr .cbor MSO)``)."""
        inner = split_tag24(payload)
        if inner is None:
            inner = cbor.unwrap24(cbor.decode(payload, what="MSO"), what="MSO")
        value = cbor.decode(inner, what="MSO")
        return cls.from_value(value)

    @classmethod
    def from_value(cls, value: Any) -> MobileSecurityObject:
        if not isinstance(value, dict):
            raise MalformedError("MSO must be a map")
        try:
            version = value["version"]
            alg = value["digestAlgorithm"]
            digests = value["valueDigests"]
            dki = value["deviceKeyInfo"]
            doc_type = value["docType"]
            validity = value["validityInfo"]
        except KeyError as e:
            raise MalformedError(f"MSO lacks {e.args[0]}") from None
        if version != MSO_VERSION:
            raise UnsupportedError(f"MSO version {safe_repr(version)} is not supported")
        if alg not in DIGEST_ALGORITHMS:
            raise UnsupportedError(f"MSO digest algorithm {safe_repr(alg)} is not accepted")
        if not isinstance(doc_type, str):
            raise MalformedError("MSO docType must be text")
        if not isinstance(digests, dict):
            raise MalformedError("MSO valueDigests must be a map")
        size = DIGEST_SIZE[alg]
        checked: dict[str, dict[int, bytes]] = {}
        for ns, per_ns in digests.items():
            if not isinstance(ns, str) or not isinstance(per_ns, dict):
                raise MalformedError("MSO valueDigests must map namespaces to digest maps")
            if digests_well_formed(per_ns, size):
                checked[ns] = per_ns
                continue
            # The decoder gives plain int and bytes (never a bool as an int, nor a subclass).
            for did, d in per_ns.items():
                if type(did) is not int or not 0 <= did < _MAX_DIGEST_ID:
                    raise MalformedError("MSO digest IDs must be unsigned integers below 2^64")
                if type(d) is not bytes or len(d) != size:
                    raise MalformedError(f"MSO digests must be {size}-byte strings for {alg}")
            checked[ns] = per_ns
        status = value.get("status")
        known = {
            "version",
            "digestAlgorithm",
            "valueDigests",
            "deviceKeyInfo",
            "docType",
            "validityInfo",
            "status",
        }
        return cls(
            version=version,
            digest_algorithm=alg,
            value_digests=checked,
            device_key_info=DeviceKeyInfo.from_value(dki),
            doc_type=doc_type,
            validity_info=ValidityInfo.from_value(validity),
            status=None if status is None else StatusReference.from_value(status),
            extra={k: v for k, v in value.items() if k not in known},
        )
