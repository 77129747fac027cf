"""Strict CBOR for untrusted bytes, deterministic CBOR for what we sign (hazmat layer).

This module owns the wire rules every other module relies on:

* :func:`decode` reads untrusted bytes and refuses trailing bytes, duplicate map keys,
  deep nesting, oversize input and the tags that let a sender build cycles or
  string-reference games (25, 28, 29, 256) or smuggle code-like values (35, 36).
  Every refusal is a :class:`~edl.errors.MalformedError`.
* :func:`encode` writes deterministic CBOR (RFC 8949 §4.2.3 length-first map ordering,
  the ordering COSE and ISO 18013-5 implementations use in practice).
* Tag 24 (``#6.24(bstr .cbor X)``) stays as the bytes received: :func:`unwrap24` gives them
  back untouched, so digests and signatures are computed over exactly what was sent.
* ISO 18013-5 dates: :func:`tdate` (tag 0, UTC, whole seconds, ``Z``) and
  :func:`full_date` (tag 1004, ``YYYY-MM-DD``). A received tag 0 must stay within the years
  1 to 9999 once moved to UTC (Python's datetime cannot hold more), and untagged epoch
  seconds go through :func:`datetime_from_epoch`: both refuse what is out of range here, as
  ``malformed``, rather than raise later.

It knows nothing about mdoc or COSE structure; see ``edl.cose`` and ``edl.mdoc``.

>>> decode(encode({"a": 1}))
{'a': 1}
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import threading
from typing import Any

import cbor2
from cbor2 import CBORTag

from .errors import MalformedError

__all__ = [
    "CBORTag",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_SIZE",
    "MAX_EPOCH",
    "TAG24_HEADS",
    "datetime_from_epoch",
    "decode",
    "decode_each",
    "encode",
    "encode_ordered",
    "encode_tag24",
    "full_date",
    "head",
    "read_head",
    "tag24_head",
    "tdate",
    "unwrap24",
    "wrap24",
]

DEFAULT_MAX_SIZE = 1 << 20
"""Largest input :func:`decode` accepts by default (1 MiB: an mDL with a large portrait fits)."""

DEFAULT_MAX_DEPTH = 32
"""Deepest nesting :func:`decode` accepts; ISO 18013-5 structures need fewer than 12 levels."""

TAG_ENCODED_CBOR = 24
TAG_TDATE = 0
TAG_FULL_DATE = 1004


def _refuse_tag(tag: int) -> Any:
    def refuse(*_args: Any) -> Any:
        raise MalformedError(f"CBOR tag {tag} is not allowed in a credential")

    return refuse


# Value sharing and string references can make cycles or amplification; regex and MIME
# values have no place in a licence.
_REFUSED_TAGS = {tag: _refuse_tag(tag) for tag in (25, 28, 29, 35, 36, 256)}

# RFC 3339 §5.6 date-time, as tag 0 carries it (RFC 8949 §3.4.1); "T" and "Z" may be lower
# case (RFC 3339 §5.6, note). Fractions beyond microseconds are dropped, as cbor2 does.
_TDATE_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6})[0-9]*)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


# The form ISO 18013-5 writes: whole seconds, UTC as "Z" (ASCII digits only).
_TDATE_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_TDATE_MESSAGE = "a date-time (tag 0) is not a valid time between the years 1 and 9999 (UTC)"


def _decode_tdate(value: Any, _immutable: bool = False) -> _dt.datetime:
    """Tag 0 as an aware datetime that can be moved to UTC: ``9999-12-31T23:00:00-05:00`` is
    a valid text, but no ``datetime`` holds it in UTC (``astimezone`` would raise later).

    The form ISO 18013-5 writes (``YYYY-MM-DDTHH:MM:SSZ``, 20 ASCII characters) is read by
    ``datetime.fromisoformat``; anything else goes through the RFC 3339 pattern. Both give the same result
    (``tests/property/test_mdoc_fast_paths.py`` holds them to it)."""
    if type(value) is str and len(value) == 20 and _TDATE_UTC.fullmatch(value) is not None:
        try:
            return _dt.datetime.fromisoformat(value)
        except ValueError:
            raise MalformedError(_TDATE_MESSAGE) from None
    return _decode_tdate_text(value)


def _decode_tdate_text(value: Any) -> _dt.datetime:
    """Tag 0 through the RFC 3339 pattern (the reference for :func:`_decode_tdate`)."""
    m = _TDATE_TEXT.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise MalformedError("a date-time (tag 0) must be RFC 3339 text such as 2026-06-01T08:00:00Z")
    year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
    try:
        if m[8] is None:
            zone = _dt.UTC
        else:
            offset = _dt.timedelta(hours=int(m[9]), minutes=int(m[10]))
            zone = _dt.timezone(-offset if m[8] == "-" else offset)
        moment = _dt.datetime(
            year, month, day, hour, minute, second, int((m[7] or "0").ljust(6, "0")), tzinfo=zone
        )
        moment.astimezone(_dt.UTC)
    except (ValueError, OverflowError):
        raise MalformedError(_TDATE_MESSAGE) from None
    return moment


_SEMANTIC_DECODERS: dict[int, Any] = {**_REFUSED_TAGS, TAG_TDATE: _decode_tdate}

MAX_EPOCH = 253_402_300_800
"""10000-01-01T00:00:00Z in epoch seconds: the first second no Python ``datetime`` can hold."""

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def datetime_from_epoch(seconds: Any, *, what: str) -> _dt.datetime:
    """Untrusted epoch seconds (an unsigned integer, untagged) as an aware UTC datetime.

    ``MalformedError`` unless ``0 <= seconds < MAX_EPOCH``: ``datetime.fromtimestamp`` would
    raise for the years after 9999."""
    if type(seconds) is not int or not 0 <= seconds < MAX_EPOCH:
        raise MalformedError(f"{what} must be epoch seconds from 1970 to the year 9999")
    # the same datetime as _EPOCH + timedelta(seconds=seconds) in this range, at half the cost
    # (tests/property/test_qr_fast_paths.py holds the two to it)
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC)


_LOCAL = threading.local()


def _decoders() -> dict[int, cbor2.CBORDecoder]:
    # One decoder per thread and depth limit, re-pointed at each input: building a decoder
    # costs more than decoding a QR frame. Decoding never re-enters (no hooks call back here).
    decoders: dict[int, cbor2.CBORDecoder] | None = getattr(_LOCAL, "decoders", None)
    if decoders is None:
        decoders = _LOCAL.decoders = {}
    return decoders


def decode(
    data: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    what: str = "data",
) -> Any:
    """Decode exactly one CBOR data item from untrusted ``data``.

    Raises :class:`MalformedError` for anything that is not a single well-formed item
    within the limits: trailing bytes, duplicate map keys, nesting deeper than
    ``max_depth``, more than ``max_size`` bytes, truncated input, invalid UTF-8,
    refused tags. ``what`` names the thing in the error message.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode() takes bytes, not {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise MalformedError(f"{what} is empty")
    if size > max_size:
        raise MalformedError(f"{what} is {size} bytes, more than the {max_size} allowed")
    fp = io.BytesIO(data)
    decoders = _decoders()
    decoder = _decoder_on(decoders, fp, max_depth)
    try:
        value = decoder.decode()
    except BaseException as e:
        del decoders[max_depth]  # a fresh decoder after any failure: no state carried over
        if isinstance(e, MalformedError):
            raise
        if isinstance(e, cbor2.CBORDecodeError):
            cause = e.__cause__
            if isinstance(cause, MalformedError):
                raise MalformedError(f"{what}: {cause.message}") from e
            raise MalformedError(f"{what} is not valid CBOR ({e})") from e
        if isinstance(e, (ValueError, TypeError, OverflowError, RecursionError, MemoryError)):
            raise MalformedError(f"{what} is not valid CBOR ({e})") from e
        raise
    if fp.tell() != size:
        raise MalformedError(f"{what} has {size - fp.tell()} unexpected bytes after its end")
    return value


def _decoder_on(decoders: dict[int, cbor2.CBORDecoder], fp: io.BytesIO, max_depth: int) -> cbor2.CBORDecoder:
    """This thread's strict decoder for ``max_depth``, reading ``fp`` (made once, then reused:
    building a decoder costs more than a small decode)."""
    decoder = decoders.get(max_depth)
    if decoder is None:
        decoder = decoders[max_depth] = cbor2.CBORDecoder(
            fp,
            max_depth=max_depth,
            allow_duplicate_keys=False,
            semantic_decoders=_SEMANTIC_DECODERS,
        )
    else:
        decoder.fp = fp
    return decoder


def decode_each(items: list[bytes], *, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Any] | None:
    """Each of ``items`` decoded as :func:`decode` would decode it alone, through one decoder
    (cheaper than one call each): the items are read in turn from their concatenation, and each
    must end exactly where its bytes end. ``None`` when any of them would not decode (empty,
    too large, malformed, trailing bytes): :func:`decode` on each then says why.

    ``tests/property/test_mdoc_fast_paths.py`` holds it to :func:`decode`."""
    ends = []
    end = 0
    for item in items:
        if type(item) is not bytes or not item or len(item) > DEFAULT_MAX_SIZE:
            return None
        end += len(item)
        ends.append(end)
    fp = io.BytesIO(b"".join(items))
    decoders = _decoders()
    decoder = _decoder_on(decoders, fp, max_depth)
    out = []
    try:
        for end in ends:
            out.append(decoder.decode())
            if fp.tell() != end:
                return None
    except BaseException as e:
        del decoders[max_depth]  # a fresh decoder after any failure: no state carried over
        if isinstance(e, Exception):
            return None
        raise
    return out


def encode(value: Any) -> bytes:
    """Encode ``value`` as deterministic CBOR (sorted map keys, shortest heads)."""
    return cbor2.dumps(value, canonical=True)


def encode_ordered(value: Any) -> bytes:
    """Encode ``value`` keeping its maps' order: for callers that built them in deterministic
    order already (tests check the result equals :func:`encode`)."""
    return cbor2.dumps(value)


def head(major: int, length: int) -> bytes:
    """The CBOR head of a data item of ``major`` type with argument ``length``.

    Used to frame bytes that must not be re-encoded (a transcript embedded as received).
    """
    mt = major << 5
    if length < 24:
        return bytes([mt | length])
    if length < 0x100:
        return bytes([mt | 24, length])
    if length < 0x10000:
        return bytes([mt | 25]) + length.to_bytes(2, "big")
    if length < 0x100000000:
        return bytes([mt | 26]) + length.to_bytes(4, "big")
    return bytes([mt | 27]) + length.to_bytes(8, "big")


def read_head(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(major type, argument, offset after the head) of the data item at ``at``, for fast
    paths that split a known layout without decoding it; ``None`` for an indefinite length,
    a reserved value or a head cut short (the caller then hands the bytes to :func:`decode`,
    which decides). It checks no content: callers bound lengths against ``len(data)``."""
    if at >= len(data):
        return None
    first = data[at]
    info = first & 0x1F
    if info < 24:
        return first >> 5, info, at + 1
    if info > 27:
        return None
    end = at + 1 + (1 << (info - 24))
    if end > len(data):
        return None
    return first >> 5, int.from_bytes(data[at + 1 : end], "big"), end


TAG24_HEADS: tuple[bytes, ...] = tuple(b"\xd8\x18" + head(2, size) for size in range(256))
"""The heads of ``#6.24(bstr)`` (tag 24, then the byte string's head) around 0 to 255 bytes, by
size: hot loops (an mdoc's items) index it for the usual sizes instead of calling
:func:`tag24_head`."""


def tag24_head(size: int) -> bytes:
    """The head of ``#6.24(bstr)`` around ``size`` bytes: what precedes them in the encoding."""
    return TAG24_HEADS[size] if size < 256 else b"\xd8\x18" + head(2, size)


def encode_tag24(inner: bytes) -> bytes:
    """The encoding of ``#6.24(bstr inner)``, built around ``inner`` without touching it."""
    return tag24_head(len(inner)) + inner


def wrap24(inner: bytes) -> CBORTag:
    """``#6.24(bstr inner)`` as a value to embed in a larger structure."""
    return CBORTag(TAG_ENCODED_CBOR, bytes(inner))


def unwrap24(value: Any, *, what: str) -> bytes:
    """The bytes inside a received ``#6.24(bstr)``, exactly as received."""
    if not (isinstance(value, CBORTag) and value.tag == TAG_ENCODED_CBOR):
        raise MalformedError(f"{what} must be tagged as embedded CBOR (tag 24)")
    inner = value.value
    if not isinstance(inner, bytes):
        raise MalformedError(f"{what}: tag 24 must wrap a byte string")
    return inner


def tdate(moment: _dt.datetime) -> CBORTag:
    """ISO 18013-5 ``tdate``: tag 0, RFC 3339 in UTC, whole seconds, ``Z``.

    ``moment`` must be timezone-aware; fractions of a second are dropped.
    """
    if moment.tzinfo is _dt.UTC and type(moment) is _dt.datetime:
        # already UTC: "YYYY-MM-DDTHH:MM:SS" is what isoformat starts with (4-digit year)
        return CBORTag(TAG_TDATE, moment.isoformat()[:19] + "Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("tdate needs a timezone-aware datetime")
    try:
        utc = moment.astimezone(_dt.UTC).replace(microsecond=0, tzinfo=None)
    except OverflowError:
        raise ValueError("tdate: the time falls outside the years 1 to 9999 in UTC") from None
    return CBORTag(TAG_TDATE, utc.isoformat() + "Z")


def full_date(day: _dt.date) -> CBORTag:
    """ISO 18013-5 / RFC 8943 ``full-date``: tag 1004, ``YYYY-MM-DD``."""
    if isinstance(day, _dt.datetime):
        raise ValueError("full_date takes a date, not a datetime")
    return CBORTag(TAG_FULL_DATE, day.isoformat())
