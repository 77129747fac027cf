"""The rotating QR's payloads: frames signed by the holder's device, and portrait chunks.

This module owns ``specs/presentation-qr.md`` §3–§5 (hazmat layer):

* a **frame** is a COSE_Sign1 by the holder's device key (protected content type 65002)
  over ``[compact credential bytes, signing time (epoch seconds), challenge or null]``;
* a **portrait chunk** is ``["p", credential id, index, count, bytes]``, unsigned: the
  thumbnail it rebuilds is bound by the digest the credential signs;
* each travels as text ``DL1:`` + base45(CBOR), in QR alphanumeric mode.

A verifier meeting another prefix ``DL<n>:`` says the QR is newer than it understands
(``unsupported``); anything else is not a licence QR (``malformed``). It does not decide
trust (``edl.verify_qr``) nor draw QR codes (``edl.qr``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import base45

from . import cbor, cose
from .compact import CompactCredential, _header_of, decode_compact
from .errors import MalformedError, UnsupportedError

__all__ = [
    "DEFAULT_ROTATION",
    "FRAME_CONTENT_TYPE",
    "MAX_PAYLOAD_BYTES",
    "PREFIX",
    "Chunk",
    "Frame",
    "decode_text",
    "encode_text",
    "make_chunks",
    "make_frame",
    "parse_payload",
]

PREFIX = "DL1:"
FRAME_CONTENT_TYPE = 65002
"""Protected content type of a frame (CoAP Content-Format experimental range, like the
credential's 65001)."""
MAX_PAYLOAD_BYTES = 397
"""Largest payload (before base45) of any frame: QR version 15 at error correction M."""
DEFAULT_ROTATION = _dt.timedelta(seconds=30)
MAX_CHALLENGE = 16
CHUNK_TAG = "p"
_PREFIX = re.compile(r"DL([0-9]+):")
_CONTENT_TYPE_LABEL = int(cose.Header.CONTENT_TYPE)


def encode_text(data: bytes) -> str:
    """``DL1:`` + base45 (RFC 9285): QR alphanumeric characters only."""
    encoded: bytes = base45.b45encode(data)
    return PREFIX + encoded.decode("ascii")


def decode_text(text: str | bytes) -> bytes:
    """The payload bytes of a ``DL1:`` text; another version is ``unsupported``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedError("this QR is not a driving licence (not text)") from None
    # The usual case first: a DL1: text that strip() would leave as it is.
    body = text[4:] if text[:4] == PREFIX and not text[-1:].isspace() else _versioned_body(text)
    if len(body) > 3 * MAX_PAYLOAD_BYTES:
        raise MalformedError("this QR holds more than a licence frame can")
    try:
        return b45decode(body)
    except ValueError:
        raise MalformedError("this QR's content is damaged (invalid base45)") from None


def _versioned_body(text: str) -> str:
    text = text.strip()
    m = _PREFIX.match(text)
    if m is None:
        raise MalformedError("this QR is not a driving licence (no DL1: prefix)")
    if m.group(1) != "1":
        version = m.group(1) if len(m.group(1)) <= 8 else m.group(1)[:8] + "…"
        raise UnsupportedError(
            f"this QR uses licence format DL{version}, which this verifier does not know: "
            "update the verifier",
            code="unsupported_version",
        )
    return text[m.end() :]


_B45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUES = bytes(_B45_ALPHABET.find(bytes([c])) % 256 for c in range(256))  # not in it: 255


def b45decode(text: str) -> bytes:
    """RFC 9285 base45 decoding, all groups at once: the ``base45`` package gives the same
    bytes and refuses the same texts (``tests/property/test_fast_paths.py``) but spends ~60 µs
    on a frame, a third of the verification budget; this spends ~17 µs.

    Each group of three values goes in a 32-bit lane of one big integer per position, so
    ``c0 + 45·c1 + 2025·c2`` is three integer operations for the whole text (a lane holds at
    most 91,124: no carry crosses lanes); the low two bytes of each lane are the output.
    Raises ``ValueError`` for a character outside the alphabet, a length of 3n+1, or a group
    worth more than its bytes can hold."""
    values = text.encode("ascii").translate(_B45_VALUES)
    size = len(values)
    tail = size % 3
    if tail == 1 or b"\xff" in values:
        raise ValueError("not base45")
    full = size - tail
    groups = full // 3
    lanes = bytearray(4 * groups)
    lanes[3::4] = values[0:full:3]
    low = int.from_bytes(lanes, "big")
    lanes[3::4] = values[1:full:3]
    middle = int.from_bytes(lanes, "big")
    lanes[3::4] = values[2:full:3]
    high = int.from_bytes(lanes, "big")
    total = (low + 45 * middle + 2025 * high).to_bytes(4 * groups, "big")
    if total[1::4].count(0) != groups:  # a lane over 0xFFFF
        raise ValueError("a base45 group is out of range")
    out = bytearray(2 * groups + tail // 2)
    out[0 : 2 * groups : 2] = total[2::4]
    out[1 : 2 * groups : 2] = total[3::4]
    if tail:
        last = values[full] + 45 * values[full + 1]
        if last > 0xFF:
            raise ValueError("a base45 group is out of range")
        out[-1] = last
    return bytes(out)


def make_frame(
    credential: bytes, *, device: cose.Signer, at: _dt.datetime, challenge: bytes | None = None
) -> bytes:
    """A frame: the device key signs (credential, time, challenge)."""
    if at.utcoffset() is None:
        raise ValueError("the frame time must be timezone-aware")
    if challenge is not None and len(challenge) > MAX_CHALLENGE:
        raise ValueError(f"a challenge is at most {MAX_CHALLENGE} bytes")
    payload = cbor.encode([credential, int(at.timestamp()), challenge])
    return cose.sign1(device, payload, protected={cose.Header.CONTENT_TYPE: FRAME_CONTENT_TYPE})


def make_chunks(credential: bytes, thumbnail: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """Split ``thumbnail`` into chunk payloads that each fit ``max_bytes``."""
    cid = hashlib.sha256(credential).digest()[:8]
    overhead = 24  # array head, "p", 8-byte id, index, count, byte-string head
    size = max_bytes - overhead
    parts = [thumbnail[i : i + size] for i in range(0, len(thumbnail), size)] or [b""]
    if len(parts) > 23:
        raise ValueError("the thumbnail is too large for the carousel")
    out = [cbor.encode([CHUNK_TAG, cid, i, len(parts), p]) for i, p in enumerate(parts)]
    assert all(len(c) <= max_bytes for c in out)
    return out


@dataclass(frozen=True, slots=True)
class Frame:
    """A parsed, **unverified** frame."""

    sign1: cose.CoseSign1
    credential: CompactCredential
    signed_at: _dt.datetime
    challenge: bytes | None


@dataclass(frozen=True, slots=True)
class Chunk:
    credential_id: bytes
    index: int
    count: int
    data: bytes


def parse_payload(data: bytes) -> Frame | Chunk:
    """Parse one QR payload (already base45-decoded) into a frame or a portrait chunk."""
    if len(data) > 4 * MAX_PAYLOAD_BYTES:
        raise MalformedError("this QR holds more than a licence frame can")
    # The common case, a frame in the layout the wallet writes, is split without decoding it
    # whole; anything else goes through the strict decoder (same values either way).
    parts = cose.split_sign1(data)
    if parts is not None:
        header, algorithm = _header_of(parts[0], "frame")
        sign1 = cose.CoseSign1(parts[0], dict(header), {}, parts[1], parts[2], algorithm)
    else:
        value = cbor.decode(data, what="QR payload", max_size=4 * MAX_PAYLOAD_BYTES)
        if isinstance(value, list) and len(value) == 5 and value[0] == CHUNK_TAG:
            return _chunk(value)
        sign1 = cose.CoseSign1.from_value(value, what="frame")
    if sign1.protected.get(_CONTENT_TYPE_LABEL) != FRAME_CONTENT_TYPE:
        raise UnsupportedError("this is not a licence frame (wrong content type)", code="wrong_type")
    if sign1.payload is None:
        raise MalformedError("a frame carries its content")
    inner = _split_content(sign1.payload)
    if inner is None:
        inner = cbor.decode(sign1.payload, what="frame content", max_size=4 * MAX_PAYLOAD_BYTES)
        if not isinstance(inner, list) or len(inner) != 3:
            raise MalformedError("a frame holds [credential, time, challenge]")
    credential, signed_at, challenge = inner
    if type(credential) is not bytes:
        raise MalformedError("a frame's credential must be a byte string")
    signed = cbor.datetime_from_epoch(signed_at, what="a frame's signing time")
    if challenge is not None and (type(challenge) is not bytes or len(challenge) > MAX_CHALLENGE):
        raise MalformedError(f"a frame's challenge must be a byte string of at most {MAX_CHALLENGE} bytes")
    return Frame(sign1, decode_compact(credential), signed, challenge)


def _chunk(value: list[Any]) -> Chunk:
    _tag, cid, index, count, part = value
    if not (
        isinstance(cid, bytes)
        and len(cid) == 8
        and _uint(index)
        and _uint(count)
        and 0 <= index < count <= 23
        and isinstance(part, bytes)
    ):
        raise MalformedError("a portrait chunk is damaged")
    return Chunk(credential_id=cid, index=index, count=count, data=part)


def _split_content(payload: bytes) -> list[Any] | None:
    """``[credential, time, challenge]`` of a frame's content in the wallet's layout (a byte
    string, an unsigned integer, null or a byte string; nothing after), else ``None``."""
    if payload[:1] != b"\x83":
        return None
    head = cbor.read_head(payload, 1)
    if head is None or head[0] != 2 or head[2] + head[1] > len(payload):
        return None
    credential = payload[head[2] : head[2] + head[1]]
    head = cbor.read_head(payload, head[2] + head[1])
    if head is None or head[0] != 0:
        return None
    signed_at, at = head[1], head[2]
    if payload[at:] == b"\xf6":
        return [credential, signed_at, None]
    head = cbor.read_head(payload, at)
    if head is None or head[0] != 2 or head[2] + head[1] != len(payload):
        return None
    return [credential, signed_at, payload[head[2] :]]


def _uint(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
