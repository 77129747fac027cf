"""IssuerSigned (ISO/IEC 18013-5 §8.3.2.1.2.2): the items the issuer signed, and issuerAuth.

This module owns parsing and re-emitting IssuerSigned without touching signed bytes:
the items keep their tag-24 bytes and issuerAuth keeps its protected header and payload
as received. It does not verify anything; a parsed IssuerSigned is unverified until
``edl.verify`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .. import cbor, cose
from ..errors import MalformedError, safe_repr
from .items import IssuerSignedItem
from .mso import MobileSecurityObject

__all__ = ["MAX_ITEMS", "MAX_X5CHAIN", "IssuerSigned"]

MAX_ITEMS = 1024
"""Most data elements one IssuerSigned may carry (a driving licence has a few dozen)."""

MAX_X5CHAIN = 2
"""Most certificates in issuerAuth's ``x5chain``: the DS certificate and at most its issuer."""


def _encode_sign1(value: list[Any]) -> bytes:
    """``cbor.encode(value)`` for a COSE_Sign1 array, with its byte strings (the protected header,
    the payload, the signature) framed as they are rather than copied through the encoder."""
    if len(value) == 4 and all(type(value[i]) is bytes for i in (0, 2, 3)):
        protected, unprotected, payload, signature = value
        x5 = unprotected.get(33) if type(unprotected) is dict and len(unprotected) == 1 else None
        # {33: the DS certificate}, as edl issues, framed; anything else through the encoder
        header = (
            b"\xa1\x18\x21" + cbor.head(2, len(x5)) + x5 if type(x5) is bytes else cbor.encode(unprotected)
        )
        return b"".join(
            (
                b"\x84",
                cbor.head(2, len(protected)),
                protected,
                header,
                cbor.head(2, len(payload)),
                payload,
                cbor.head(2, len(signature)),
                signature,
            )
        )
    return cbor.encode(value)


@dataclass(frozen=True, slots=True)
class IssuerSigned:
    """Parsed, **unverified** IssuerSigned."""

    namespaces: Mapping[str, tuple[IssuerSignedItem, ...]]
    issuer_auth: cose.CoseSign1
    issuer_auth_value: list[Any]

    # -- wire -------------------------------------------------------------------------

    def to_value(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.namespaces:
            out["nameSpaces"] = {ns: [i.to_value() for i in items] for ns, items in self.namespaces.items()}
        out["issuerAuth"] = self.issuer_auth_value
        return out

    def to_bytes(self) -> bytes:
        """The deterministic encoding (the same bytes as ``cbor.encode(self.to_value())``),
        framed around each item's bytes as they are: nothing signed is encoded again."""
        if not all(type(ns) is str for ns in self.namespaces):
            return cbor.encode(self.to_value())
        auth = _encode_sign1(self.issuer_auth_value)
        if not self.namespaces:
            return b"\xa1\x6aissuerAuth" + auth
        parts = [b"\xa2\x6aissuerAuth", auth, b"\x6anameSpaces", cbor.head(5, len(self.namespaces))]
        # deterministic map order: the encoded keys, shorter first, then bytewise
        keys = []
        for ns in self.namespaces:
            utf8 = ns.encode()
            key = cbor.head(3, len(utf8)) + utf8
            keys.append((len(key), key, ns))
        keys.sort()
        heads = cbor.TAG24_HEADS
        for _size, key, ns in keys:
            items = self.namespaces[ns]
            parts.append(key)
            parts.append(cbor.head(4, len(items)))
            for item in items:
                raw = item.raw
                size = len(raw)
                parts.append(heads[size] if size < 256 else cbor.tag24_head(size))
                parts.append(raw)
        return b"".join(parts)

    @classmethod
    def from_value(cls, value: Any) -> IssuerSigned:
        if not isinstance(value, dict):
            raise MalformedError("IssuerSigned must be a map")
        unknown = set(value) - {"nameSpaces", "issuerAuth"}
        if unknown:
            raise MalformedError(
                f"IssuerSigned has unexpected fields {safe_repr(sorted(unknown, key=safe_repr))}"
            )
        auth = value.get("issuerAuth")
        if auth is None:
            raise MalformedError("IssuerSigned lacks issuerAuth")
        issuer_auth = cose.CoseSign1.from_value(auth, what="issuerAuth")
        if isinstance(auth, cbor.CBORTag):
            auth = auth.value
        raw_ns = value.get("nameSpaces", {})
        if not isinstance(raw_ns, dict):
            raise MalformedError("IssuerSigned nameSpaces must be a map")
        if sum(len(items) for items in raw_ns.values() if isinstance(items, list)) > MAX_ITEMS:
            raise MalformedError(f"IssuerSigned holds more than {MAX_ITEMS} data elements")
        namespaces: dict[str, tuple[IssuerSignedItem, ...]] = {}
        for ns, items in raw_ns.items():
            if not isinstance(ns, str) or not isinstance(items, list) or not items:
                raise MalformedError("IssuerSigned nameSpaces must map text to non-empty arrays")
            namespaces[ns] = tuple(IssuerSignedItem.from_value(v, namespace=ns) for v in items)
        return cls(namespaces=namespaces, issuer_auth=issuer_auth, issuer_auth_value=list(auth))

    @classmethod
    def from_bytes(cls, data: bytes) -> IssuerSigned:
        return cls.from_value(cbor.decode(data, what="IssuerSigned"))

    # -- views ------------------------------------------------------------------------

    def mso(self) -> MobileSecurityObject:
        """The MSO from the issuerAuth payload (signature not checked here)."""
        payload = self.issuer_auth.payload
        if payload is None:
            raise MalformedError("issuerAuth has no payload (the MSO is missing)")
        return MobileSecurityObject.from_payload(payload)

    def certificate_chain(self) -> list[bytes]:
        """DER certificates from issuerAuth's ``x5chain`` header, leaf first."""
        x5 = self.issuer_auth.unprotected.get(
            cose.Header.X5CHAIN, self.issuer_auth.protected.get(cose.Header.X5CHAIN)
        )
        if isinstance(x5, bytes):
            return [x5]
        if isinstance(x5, (list, tuple)) and len(x5) > MAX_X5CHAIN:
            # ISO 18013-5 needs the DS certificate and at most its issuer: a longer chain is
            # refused before any of it is read (a chain walk must not be the attacker's to size).
            raise MalformedError(
                f"issuerAuth's x5chain holds {len(x5)} certificates; at most {MAX_X5CHAIN} are accepted"
            )
        if isinstance(x5, (list, tuple)) and x5 and all(isinstance(c, bytes) for c in x5):
            return list(x5)
        raise MalformedError("issuerAuth carries no certificate (x5chain)")

    def element_ids(self) -> list[tuple[str, str]]:
        return [(ns, i.element_identifier) for ns, items in self.namespaces.items() for i in items]

    def select(self, disclose: Collection[tuple[str, str]] | None) -> IssuerSigned:
        """A copy keeping only the items named in ``disclose`` (``None`` keeps all).

        Raises ``ValueError`` naming an element that is not in this credential.
        """
        if disclose is None:
            return self
        wanted = set(disclose)
        missing = wanted - set(self.element_ids())
        if missing:
            names = ", ".join(sorted(f"{ns}/{e}" if ns else e for ns, e in missing))
            raise ValueError(f"not in this credential: {names}")
        kept = {
            ns: tuple(i for i in items if (ns, i.element_identifier) in wanted)
            for ns, items in self.namespaces.items()
        }
        return IssuerSigned(
            namespaces={ns: items for ns, items in kept.items() if items},
            issuer_auth=self.issuer_auth,
            issuer_auth_value=self.issuer_auth_value,
        )
