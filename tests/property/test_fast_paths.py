"""The verifier's fast paths decide exactly as the strict decoder does.

A QR frame and its compact credential are split by hand when they have the wallet's layout
(``cose.split_sign1``, ``presentation._split_content``) instead of going through the strict CBOR
decoder. These tests hold the fast paths to the strict ones: on genuine frames, on hostile
variants of them (bytes flipped, cut, added, heads re-encoded longer) and on arbitrary bytes,
parsing with the fast paths on and off gives the same frame, or the same error."""

from __future__ import annotations

import datetime as dt

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl import cbor, compact, cose, presentation
from edl.demo import make_portrait
from edl.errors import EdlError
from edl.model import Licence
from edl.presentation import decode_text
from edltest import NOW, issue_to_wallet, licence_json, make_city

PROPERTY = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def payloads() -> list[bytes]:
    phone = ec.generate_private_key(ec.SECP256R1())
    licence = Licence.from_json(licence_json(portrait=make_portrait()))
    _issued, wallet = issue_to_wallet(make_city("Qingdao", "CN"), phone, licence)
    out = []
    for profile in ("roadside", "age-check", "rental"):
        out += [decode_text(t) for t in wallet.frames(profile, at=NOW)]
    out += [decode_text(wallet.frames("roadside", at=NOW, challenge=b"\x01" * 16)[0])]
    return out


def _outcome(data: bytes) -> object:
    """What parsing gives: the frame's fields, the chunk, or the error's class and code."""
    compact._decode_compact.cache_clear()
    try:
        parsed = presentation.parse_payload(data)
    except EdlError as e:
        return (type(e).__name__, e.code)
    if isinstance(parsed, presentation.Chunk):
        return parsed
    cred = parsed.credential
    return (
        parsed.sign1,
        parsed.signed_at,
        parsed.challenge,
        cred.raw,
        cred.sign1,
        cred.claims,
        cred.elements(),
    )


def _strict(monkeypatch: pytest.MonkeyPatch, data: bytes) -> object:
    with monkeypatch.context() as m:
        m.setattr(cose, "split_sign1", lambda _data: None)
        m.setattr(presentation, "_split_content", lambda _payload: None)
        return _outcome(data)


def test_genuine_frames_take_the_fast_path(payloads):
    frames = [p for p in payloads if p[0] == 0x84]
    assert len(frames) >= 4
    for data in frames:
        assert cose.split_sign1(data) is not None
        sign1 = cose.decode_sign1(data)
        assert presentation._split_content(sign1.payload) is not None
        assert cose.split_sign1(presentation._split_content(sign1.payload)[0]) is not None


def test_fast_and_strict_agree_on_genuine_frames(payloads, monkeypatch):
    for data in payloads:
        assert _outcome(data) == _strict(monkeypatch, data)


def _longer_heads(data: bytes) -> bytes:
    """The same CBOR with every byte-string head at the top level one size longer."""
    value = cbor.decode(data)
    if not isinstance(value, list):
        return data
    out = bytearray(cbor.head(4, len(value)))
    for item in value:
        if isinstance(item, bytes):
            out += bytes([0x59]) + len(item).to_bytes(2, "big") + item
        else:
            out += cbor.encode(item)
    return bytes(out)


def test_non_preferred_heads_agree(payloads, monkeypatch):
    for data in payloads:
        longer = _longer_heads(data)
        assert longer != data
        assert _outcome(longer) == _strict(monkeypatch, longer)


@PROPERTY
@given(pick=st.integers(min_value=0), at=st.integers(min_value=0), byte=st.integers(0, 255))
def test_one_byte_changed_agrees(payloads, monkeypatch, pick, at, byte):
    data = bytearray(payloads[pick % len(payloads)])
    data[at % len(data)] = byte
    assert _outcome(bytes(data)) == _strict(monkeypatch, bytes(data))


@PROPERTY
@given(pick=st.integers(min_value=0), cut=st.integers(min_value=0), extra=st.binary(max_size=4))
def test_cut_or_extended_agrees(payloads, monkeypatch, pick, cut, extra):
    data = payloads[pick % len(payloads)]
    data = data[: len(data) - cut % len(data)] + extra
    if data:
        assert _outcome(data) == _strict(monkeypatch, data)


@PROPERTY
@given(data=st.binary(min_size=1, max_size=64).map(lambda b: b"\x84" + b))
def test_arbitrary_arrays_agree(monkeypatch, data):
    assert _outcome(data) == _strict(monkeypatch, data)


@given(at=st.integers(min_value=0, max_value=40), data=st.binary(max_size=40))
def test_read_head_matches_the_decoder(at, data):
    head = cbor.read_head(data, at)
    if head is None:
        return
    major, argument, end = head
    assert 0 <= major <= 7 and end <= len(data)
    if major in (0, 1):  # an integer: the decoder reads the same argument
        value = cbor.decode(data[at:end])
        assert value == (argument if major == 0 else -1 - argument)


def test_frame_time_is_kept_as_signed(payloads):
    frame = presentation.parse_payload(payloads[0])
    assert frame.signed_at == NOW.replace(microsecond=0).astimezone(dt.UTC)


def _reference_b45(text: str) -> bytes | None:
    try:
        return bytes(base45.b45decode(text))
    except (ValueError, KeyError):
        return None


def _ours_b45(text: str) -> bytes | None:
    try:
        return presentation.b45decode(text)
    except ValueError:
        return None


@given(data=st.binary(max_size=400))
def test_base45_decodes_what_the_reference_encodes(data):
    assert presentation.b45decode(base45.b45encode(data).decode()) == data


@settings(max_examples=1000)
@given(text=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a~é\t", max_size=40))
def test_base45_refuses_what_the_reference_refuses(text):
    # (The reference drops a trailing newline; decode_text strips the text before decoding.)
    assert _ours_b45(text) == _reference_b45(text)


@pytest.mark.parametrize("text", ["", "A", "GGW", ":::", "ZZ", "abc", "QED8WEX0", "%69 VD92EX0", "BB8"])
def test_base45_edges(text):
    assert _ours_b45(text) == _reference_b45(text)


def test_buffers_other_than_bytes_take_the_strict_path(payloads):
    data = payloads[0]
    assert cose.split_sign1(bytearray(data)) is None
    assert cose.decode_sign1(bytearray(data)) == cose.decode_sign1(data)
    assert cose.decode_sign1(memoryview(data)) == cose.decode_sign1(data)


def _split_by_read_head(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """split_sign1 as it was written before its byte-string heads were read inline: every head
    through cbor.read_head (the reference for the inline reading)."""
    if type(data) is not bytes:
        return None
    at = 2 if data[:2] == b"\xd2\x84" else 1 if data[:1] == b"\x84" else 0
    if not at or len(data) > cbor.DEFAULT_MAX_SIZE:
        return None
    parts: list[bytes] = []
    for index in range(4):
        if index == 1:
            if data[at : at + 1] != b"\xa0":
                return None
            at += 1
            continue
        head = cbor.read_head(data, at)
        if head is None or head[0] != 2:
            return None
        start, at = head[2], head[2] + head[1]
        if at > len(data):
            return None
        parts.append(data[start:at])
    if at != len(data):
        return None
    return parts[0], parts[1], parts[2]


# byte-string heads of every size the inline reading distinguishes, cut or not, and others
_HEADS = st.one_of(
    st.integers(0, 23).map(lambda n: bytes([0x40 + n])),
    st.integers(0, 255).map(lambda n: bytes([0x58, n])),
    st.integers(0, 0xFFFF).map(lambda n: b"\x59" + n.to_bytes(2, "big")),
    st.integers(0, 70).map(lambda n: b"\x5a" + n.to_bytes(4, "big")),
    st.sampled_from([b"\x58", b"\x59\x00", b"\x5b", b"\x5f", b"\x60", b"\x41"]),
    st.binary(min_size=1, max_size=3),
)


def _framed(body: bytes, form: int) -> bytes:
    """``body`` as a byte string whose head has the given form (0: preferred, 1-3: one, two or
    four bytes of length whatever the length)."""
    n = len(body)
    if form == 0:
        return cbor.head(2, n) + body
    if form == 1 and n < 256:
        return bytes([0x58, n]) + body
    if form == 2 or (form == 1 and n >= 256):
        return b"\x59" + n.to_bytes(2, "big") + body
    return b"\x5a" + n.to_bytes(4, "big") + body


_PIECES = st.one_of(
    st.tuples(st.binary(max_size=300), st.integers(0, 3)).map(lambda t: _framed(*t)),
    st.tuples(_HEADS, st.binary(max_size=300)).map(lambda t: t[0] + t[1]),
)


@settings(max_examples=2000)
@given(
    prefix=st.sampled_from([b"\x84", b"\xd2\x84", b"\x83"]),
    pieces=st.lists(_PIECES, min_size=1, max_size=4),
    middle=st.sampled_from([b"\xa0", b"\xa1", b""]),
    where=st.integers(0, 3),
    cut=st.integers(0, 3),
)
def test_split_sign1_reads_heads_as_read_head_does(prefix, pieces, middle, where, cut):
    chunks = list(pieces)
    chunks.insert(min(where, len(chunks)), middle)
    data = prefix + b"".join(chunks)
    data = data[: len(data) - cut] if cut < len(data) else data
    assert cose.split_sign1(data) == _split_by_read_head(data)


def test_split_sign1_accepts_every_head_size():
    # the layouts the property test above must reach: accepted with each head form
    for form in range(4):
        parts = (b"\xa1\x01\x26", b"p" * 300, b"s" * 64)
        data = b"\x84" + _framed(parts[0], form) + b"\xa0" + _framed(parts[1], form) + _framed(parts[2], form)
        assert cose.split_sign1(data) == parts == _split_by_read_head(data)


@PROPERTY
@given(pick=st.integers(min_value=0), at=st.integers(min_value=0), byte=st.integers(0, 255))
def test_split_sign1_of_a_changed_byte_is_the_reference(payloads, pick, at, byte):
    data = bytearray(payloads[pick % len(payloads)])
    data[at % len(data)] = byte
    assert cose.split_sign1(bytes(data)) == _split_by_read_head(bytes(data))
