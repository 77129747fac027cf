"""IssuerSignedItem (ISO/IEC 18013-5 §8.3.2.1.2.2) with the exact bytes it was sent in.

This module owns one data element as the issuer signed it: its digest ID, random salt,
identifier and value, and the ``IssuerSignedItemBytes`` (``#6.24(bstr .cbor item)``) over
which the MSO digest is computed. It does not decide whether a digest is trusted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from .. import cbor
from ..errors import MalformedError

__all__ = ["IssuerSignedItem", "RANDOM_LENGTH"]

RANDOM_LENGTH = 16
"""Salt length we write (ISO 18013-5 §9.1.2.5: at least 16 bytes)."""

_DIGESTS = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}


@dataclass(frozen=True, slots=True)
class IssuerSignedItem:
    """One signed data element. ``raw`` is the encoded item inside its tag 24."""

    digest_id: int
    random: bytes
    element_identifier: str
    element_value: Any
    raw: bytes

    @classmethod
    def create(
        cls, digest_id: int, element_identifier: str, cbor_value: Any, *, salt: bytes | None = None
    ) -> IssuerSignedItem:
        """Make a new item (``cbor_value`` ready to encode) with ``salt`` or a fresh one."""
        rnd = os.urandom(RANDOM_LENGTH) if salt is None else salt
        if len(rnd) < RANDOM_LENGTH:
            raise ValueError(f"the salt must be at least {RANDOM_LENGTH} bytes")
        raw = cbor.encode(
            {
                "digestID": digest_id,
                "random": rnd,
                "elementIdentifier": element_identifier,
                "elementValue": cbor_value,
            }
        )
        return cls(
            digest_id=digest_id,
            random=rnd,
            element_identifier=element_identifier,
            element_value=cbor_value,
            raw=raw,
        )

    @classmethod
    def from_value(cls, value: Any, *, namespace: str) -> IssuerSignedItem:
        """Parse a received ``IssuerSignedItemBytes`` (already decoded to a tag-24 value)."""
        what = f"an item of {namespace}"
        raw = cbor.unwrap24(value, what=what)
        item = cbor.decode(raw, what=what)
        if not isinstance(item, dict):
            raise MalformedError(f"{what} is not a map")
        try:
            digest_id = item["digestID"]
            rnd = item["random"]
            ident = item["elementIdentifier"]
            element_value = item["elementValue"]
        except KeyError as e:
            raise MalformedError(f"{what} lacks {e.args[0]}") from None
        if len(item) != 4:
            extra = sorted(str(k) for k in item if k not in ("digestID", "random", "elementIdentifier", "elementValue"))
            raise MalformedError(f"{what} has unexpected fields {extra}")
        if not isinstance(digest_id, int) or isinstance(digest_id, bool) or not 0 <= digest_id < 2**31:
            raise MalformedError(f"{what}: digestID must be a small unsigned integer")
        if not isinstance(rnd, bytes) or len(rnd) < RANDOM_LENGTH:
            raise MalformedError(f"{what}: random must be at least {RANDOM_LENGTH} bytes")
        if not isinstance(ident, str) or not ident:
            raise MalformedError(f"{what}: elementIdentifier must be text")
        return cls(digest_id=digest_id, random=rnd, element_identifier=ident, element_value=element_value, raw=raw)

    @property
    def tagged(self) -> bytes:
        """``IssuerSignedItemBytes``: the encoding the digest covers."""
        return cbor.encode_tag24(self.raw)

    def digest(self, algorithm: str = "SHA-256") -> bytes:
        try:
            fn = _DIGESTS[algorithm]
        except KeyError:
            raise ValueError(f"unknown digest algorithm {algorithm}") from None
        return fn(self.tagged).digest()

    def to_value(self) -> cbor.CBORTag:
        return cbor.wrap24(self.raw)
