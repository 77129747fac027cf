"""DeviceResponse, DeviceSigned and device authentication (ISO/IEC 18013-5 §8.3.2.1.2.2, §9.1.3).

This module owns the holder's half of a presentation: the DeviceResponse structure, the
SessionTranscript supplied by the transport (as bytes, kept exactly), the
``DeviceAuthenticationBytes`` that the device key signs or MACs, and the EMacKey
derivation for ``deviceMac`` (§9.1.3.5). It does not decide trust; ``edl.verify`` does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import cbor, cose
from ..errors import MalformedError, UnsupportedError, safe_repr
from .issuer_signed import IssuerSigned

__all__ = [
    "DeviceResponse",
    "DeviceSigned",
    "Document",
    "SessionTranscript",
    "derive_emac_key",
    "device_authentication_bytes",
]

RESPONSE_VERSION = "1.0"
EMPTY_DEVICE_NAMESPACES = b"\xa0"


@dataclass(frozen=True, slots=True)
class SessionTranscript:
    """The SessionTranscript of the session, kept as the bytes the transport gave.

    ``raw`` is the encoded ``SessionTranscript`` array; ``tagged`` is
    ``SessionTranscriptBytes`` = ``#6.24(bstr .cbor SessionTranscript)``.
    """

    raw: bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionTranscript:
        """Accept SessionTranscriptBytes (tag 24) or the bare SessionTranscript."""
        value = cbor.decode(data, what="session transcript")
        if isinstance(value, cbor.CBORTag):
            inner = cbor.unwrap24(value, what="session transcript")
            value = cbor.decode(inner, what="session transcript")
            data = inner
        if not isinstance(value, list) or len(value) != 3:
            raise MalformedError("a SessionTranscript is an array of 3 elements")
        return cls(raw=bytes(data))

    @property
    def tagged(self) -> bytes:
        return cbor.encode_tag24(self.raw)


def device_authentication_bytes(
    transcript: SessionTranscript, doc_type: str, device_namespaces_raw: bytes
) -> bytes:
    """``DeviceAuthenticationBytes`` (§9.1.3.4), built around the received bytes.

    DeviceAuthentication = ["DeviceAuthentication", SessionTranscript, DocType,
    DeviceNameSpacesBytes]; the result is its ``#6.24`` wrapping.
    """
    doc_type_utf8 = doc_type.encode()  # a text string: its head, then its UTF-8
    inner = b"".join(
        (
            b"\x84\x74DeviceAuthentication",
            transcript.raw,
            cbor.head(3, len(doc_type_utf8)),
            doc_type_utf8,
            cbor.encode_tag24(device_namespaces_raw),
        )
    )
    return cbor.encode_tag24(inner)


def derive_emac_key(
    private_key: ec.EllipticCurvePrivateKey, peer_public_key: cose.PublicKey, transcript: SessionTranscript
) -> bytes:
    """EMacKey (§9.1.3.5): HKDF-SHA-256 of ECDH, salt SHA-256(SessionTranscriptBytes)."""
    if not isinstance(peer_public_key, ec.EllipticCurvePublicKey):
        raise UnsupportedError("deviceMac needs an elliptic-curve device key")
    if peer_public_key.curve.name != private_key.curve.name:
        raise UnsupportedError("the reader key and the device key are on different curves")
    shared = private_key.exchange(ec.ECDH(), peer_public_key)
    salt = hashlib.sha256(transcript.tagged).digest()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"EMacKey").derive(shared)


@dataclass(frozen=True, slots=True)
class DeviceSigned:
    """DeviceSigned: device-signed namespaces (as received) and deviceSignature or deviceMac."""

    namespaces_raw: bytes
    namespaces: dict[str, Any]
    device_signature: cose.CoseSign1 | None
    device_mac: cose.CoseMac0 | None
    auth_value: dict[str, Any]

    def to_value(self) -> dict[str, Any]:
        return {"nameSpaces": cbor.wrap24(self.namespaces_raw), "deviceAuth": self.auth_value}

    @classmethod
    def from_value(cls, value: Any) -> DeviceSigned:
        if not isinstance(value, dict):
            raise MalformedError("DeviceSigned must be a map")
        try:
            ns_value, auth = value["nameSpaces"], value["deviceAuth"]
        except KeyError as e:
            raise MalformedError(f"DeviceSigned lacks {e.args[0]}") from None
        raw = cbor.unwrap24(ns_value, what="DeviceNameSpacesBytes")
        namespaces = cbor.decode(raw, what="DeviceNameSpaces")
        if not isinstance(namespaces, dict):
            raise MalformedError("DeviceNameSpaces must be a map")
        if not isinstance(auth, dict) or len(auth) != 1:
            raise MalformedError("deviceAuth must hold exactly one of deviceSignature or deviceMac")
        signature = mac = None
        if "deviceSignature" in auth:
            signature = cose.CoseSign1.from_value(auth["deviceSignature"], what="deviceSignature")
        elif "deviceMac" in auth:
            mac = cose.CoseMac0.from_value(auth["deviceMac"], what="deviceMac")
        else:
            raise MalformedError("deviceAuth must hold deviceSignature or deviceMac")
        return cls(
            namespaces_raw=raw,
            namespaces=namespaces,
            device_signature=signature,
            device_mac=mac,
            auth_value=auth,
        )


@dataclass(frozen=True, slots=True)
class Document:
    doc_type: str
    issuer_signed: IssuerSigned
    device_signed: DeviceSigned | None
    errors: Any = None

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {"docType": self.doc_type, "issuerSigned": self.issuer_signed.to_value()}
        if self.device_signed is not None:
            out["deviceSigned"] = self.device_signed.to_value()
        if self.errors is not None:
            out["errors"] = self.errors
        return out

    @classmethod
    def from_value(cls, value: Any) -> Document:
        if not isinstance(value, dict):
            raise MalformedError("a Document must be a map")
        doc_type = value.get("docType")
        if not isinstance(doc_type, str):
            raise MalformedError("Document docType must be text")
        if "issuerSigned" not in value:
            raise MalformedError("Document lacks issuerSigned")
        ds = value.get("deviceSigned")
        return cls(
            doc_type=doc_type,
            issuer_signed=IssuerSigned.from_value(value["issuerSigned"]),
            device_signed=None if ds is None else DeviceSigned.from_value(ds),
            errors=value.get("errors"),
        )


MAX_DOCUMENTS = 16
"""Most documents one DeviceResponse may carry (a holder presents a licence and a few others)."""


@dataclass(frozen=True, slots=True)
class DeviceResponse:
    documents: tuple[Document, ...]
    status: int = 0
    version: str = RESPONSE_VERSION
    document_errors: Any = None

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.documents:
            out["documents"] = [d.to_value() for d in self.documents]
        if self.document_errors is not None:
            out["documentErrors"] = self.document_errors
        out["status"] = self.status
        return out

    def to_bytes(self) -> bytes:
        return cbor.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> DeviceResponse:
        if not isinstance(value, dict):
            raise MalformedError("DeviceResponse must be a map")
        version = value.get("version")
        if not isinstance(version, str) or not version.startswith("1."):
            raise UnsupportedError(f"DeviceResponse version {safe_repr(version)} is not supported")
        status = value.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise MalformedError("DeviceResponse status must be an integer")
        docs = value.get("documents", [])
        if not isinstance(docs, list):
            raise MalformedError("DeviceResponse documents must be an array")
        if len(docs) > MAX_DOCUMENTS:
            # Each document costs signature checks: a response is not the attacker's to size.
            raise MalformedError(
                f"a DeviceResponse with {len(docs)} documents; at most {MAX_DOCUMENTS} are accepted"
            )
        return cls(
            documents=tuple(Document.from_value(d) for d in docs),
            status=status,
            version=version,
            document_errors=value.get("documentErrors"),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceResponse:
        return cls.from_value(cbor.decode(data, what="DeviceResponse"))
