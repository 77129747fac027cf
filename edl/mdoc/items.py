"""IssuerSignedItem (ISO/IEC 18013-5 §8.3.2.1.2.2) with the exact bytes it was sent in.

This module owns one data element as the issuer signed it: its digest ID, random salt,
identifier and value, and the ``IssuerSignedItemBytes`` (``#6.24(bstr .cbor item)``) over
which the MSO digest is computed. It does not decide whether a digest is trusted.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any, NamedTuple

from cbor2 import dumps as cbor2_dumps

from .. import cbor
from ..errors import MalformedError, safe_repr

__all__ = ["CONFORMANT_DIGEST_ID", "IssuerSignedItem", "MAX_DIGEST_ID", "RANDOM_LENGTH"]

CONFORMANT_DIGEST_ID = 2**31
"""ISO 18013-5: digest IDs shall be smaller than this (edl issues only such)."""
MAX_DIGEST_ID = 2**64
"""Digest IDs edl reads (any unsigned value that fits 64 bits)."""

RANDOM_LENGTH = 16
"""Salt length we write (ISO 18013-5 §9.1.2.5: at least 16 bytes)."""

_PLAIN = frozenset({str, bytes, int, bool, type(None)})
_RANDOM_HEAD = b"\xa4\x66random\x50"  # a 4-entry map, "random", a 16-byte string
# what follows the salt, up to the value: "digestID", the ID, "elementValue" (by ID, for the
# IDs an issuer uses: one part to join instead of three)
_ID_PARTS = tuple(b"\x68digestID" + cbor.head(0, i) + b"\x6celementValue" for i in range(256))


@functools.lru_cache(maxsize=512)
def _identifier_part(element_identifier: str) -> bytes:
    """What follows the value: "elementIdentifier" and the identifier (made once per name)."""
    return b"\x71elementIdentifier" + cbor2_dumps(element_identifier)


@functools.lru_cache(maxsize=64)
def _item_of(namespace: str) -> str:
    """ "an item of NAMESPACE", for messages (built once per namespace, not once per item)."""
    return f"an item of {safe_repr(namespace)}"


_DIGESTS = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}


def frame(digest_id: int, element_identifier: str, cbor_value: Any, rnd: bytes) -> bytes:
    """The encoded IssuerSignedItem (what tag 24 wraps), framed by hand in deterministic
    (length-first) key order: random, digestID, elementValue, elementIdentifier; the same bytes
    ``cbor.encode()`` gives (``tests/unit/test_mdoc_encoding.py``), three times faster. Plain
    cbor2 output equals deterministic output for text, bytes, ints, bools and null, bare or
    tagged; everything else (maps, arrays, floats) goes through ``cbor.encode``. Arguments are not checked."""
    kind = type(cbor_value)
    if kind in _PLAIN or (kind is cbor.CBORTag and type(cbor_value.value) in _PLAIN):
        value = cbor2_dumps(cbor_value)  # a tagged text (a full-date) has one encoding too
    else:
        value = cbor.encode(cbor_value)
    return b"".join(
        (
            _RANDOM_HEAD if len(rnd) == RANDOM_LENGTH else b"\xa4\x66random" + cbor.head(2, len(rnd)),
            rnd,
            _ID_PARTS[digest_id]
            if digest_id < 256
            else b"\x68digestID" + cbor.head(0, digest_id) + b"\x6celementValue",
            value,
            _identifier_part(element_identifier),
        )
    )


class IssuerSignedItem(NamedTuple):
    """One signed data element. ``raw`` is the encoded item inside its tag 24.

    Immutable (a named tuple: issuing makes twenty of these per licence, and a tuple is
    four times cheaper to build than a frozen dataclass)."""

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
        if not isinstance(digest_id, int) or not 0 <= digest_id < 2**31:
            raise ValueError("digest_id must be a small unsigned integer")
        raw = frame(digest_id, element_identifier, cbor_value, rnd)
        return tuple.__new__(cls, (digest_id, rnd, element_identifier, cbor_value, raw))

    @classmethod
    def from_value(cls, value: Any, *, namespace: str) -> IssuerSignedItem:
        """Parse a received ``IssuerSignedItemBytes`` (already decoded to a tag-24 value)."""
        what = _item_of(namespace)
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
            known = ("digestID", "random", "elementIdentifier", "elementValue")
            extra = sorted((k for k in item if k not in known), key=safe_repr)
            raise MalformedError(f"{what} has unexpected fields {safe_repr(extra)}")
        # ISO 18013-5 §9.1.2.5 says digest IDs "shall be smaller than 2^31", but one is only an
        # index into the signed digests: a larger one (a real national issuer uses them) is read,
        # and the verifier reports it as a non-conformance that does not change the verdict.
        if (
            not isinstance(digest_id, int)
            or isinstance(digest_id, bool)
            or not 0 <= digest_id < MAX_DIGEST_ID
        ):
            raise MalformedError(f"{what}: digestID must be an unsigned integer below 2^64")
        if not isinstance(rnd, bytes) or len(rnd) < RANDOM_LENGTH:
            raise MalformedError(f"{what}: random must be at least {RANDOM_LENGTH} bytes")
        if not isinstance(ident, str) or not ident:
            raise MalformedError(f"{what}: elementIdentifier must be text")
        return cls(
            digest_id=digest_id, random=rnd, element_identifier=ident, element_value=element_value, raw=raw
        )

    @property
    def tagged(self) -> bytes:
        """``IssuerSignedItemBytes``: the encoding the digest covers."""
        return cbor.encode_tag24(self.raw)

    def digest(self, algorithm: str = "SHA-256") -> bytes:
        """The digest of ``IssuerSignedItemBytes`` (what the MSO's valueDigests hold)."""
        try:
            fn = _DIGESTS[algorithm]
        except KeyError:
            raise ValueError(f"unknown digest algorithm {algorithm}") from None
        raw = self.raw
        h = fn(cbor.tag24_head(len(raw)))
        h.update(raw)
        return h.digest()

    def to_value(self) -> cbor.CBORTag:
        return cbor.wrap24(self.raw)
