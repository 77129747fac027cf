"""edl.cbor: strict decoding of untrusted bytes, deterministic encoding, tag 24, dates."""

from __future__ import annotations

import contextlib
import datetime as dt
import io

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edl import cbor
from edl.errors import MalformedError

# --- strict decoding: each refusal is a MalformedError with a sentence --------------------

REFUSED = [
    pytest.param(b"\x01\x02", "1 unexpected bytes after its end", id="trailing-bytes"),
    pytest.param(b"\xa0\xa0", "unexpected bytes", id="two-items"),
    pytest.param(b"\xa2\x01\x01\x01\x02", "Duplicate map key", id="duplicate-int-key"),
    pytest.param(b"\xa2\x61a\x01\x61a\x02", "Duplicate map key", id="duplicate-text-key"),
    pytest.param(b"\x81" * 40 + b"\x00", "depth", id="too-deep"),
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(b"\x82\x01", "premature end", id="truncated-array"),
    pytest.param(b"\x45abc", "premature end", id="truncated-bytes"),
    pytest.param(b"\x19\x01", "premature end", id="truncated-head"),
    pytest.param(b"\x5b\x00\x00\x00\x10\x00\x00\x00\x00", "premature end", id="huge-length-claim"),
    pytest.param(b"\x62\xc3\x28", "text string", id="invalid-utf8"),
    pytest.param(b"\x61\xff", "text string", id="invalid-utf8-byte"),
    pytest.param(b"\xff", "break", id="lone-break"),
    pytest.param(b"\xd8\x19\x00", "tag 25", id="tag25-string-reference"),
    pytest.param(b"\xd8\x1c\x00", "tag 28", id="tag28-shareable"),
    pytest.param(b"\xd8\x1d\x00", "tag 29", id="tag29-shared-ref"),
    # 28([29(0)]): an array that contains itself. Refused before any cycle is built.
    pytest.param(b"\xd8\x1c\x81\xd8\x1d\x00", "not allowed", id="value-sharing-cycle"),
    pytest.param(b"\xd8\x23\x62a*", "tag 35", id="tag35-regex"),
    pytest.param(b"\xd8\x24\x61a", "tag 36", id="tag36-mime"),
    pytest.param(b"\xd9\x01\x00\x81\x61a", "tag 256", id="tag256-stringref-namespace"),
    pytest.param(b"\x81\xa1\x01\xd8\x19\x00", "tag 25", id="refused-tag-nested"),
]


@pytest.mark.parametrize(("data", "words"), REFUSED)
def test_decode_refuses(data: bytes, words: str) -> None:
    with pytest.raises(MalformedError, match=words) as excinfo:
        cbor.decode(data)
    err = excinfo.value
    assert err.code == "malformed"
    assert err.message.startswith("data")  # names the thing: a sentence, not a repr
    assert err.diagnostics().endswith("not a driving licence credential.")


def test_what_names_the_thing() -> None:
    with pytest.raises(MalformedError, match=r"^the MSO has 1 unexpected bytes after its end$"):
        cbor.decode(b"\xa0\x00", what="the MSO")


def test_size_limit() -> None:
    data = cbor.encode(b"x" * 100)
    assert cbor.decode(data, max_size=len(data)) == b"x" * 100
    with pytest.raises(MalformedError, match=f"is {len(data)} bytes, more than the 100 allowed"):
        cbor.decode(data, max_size=100)


def test_default_size_limit_is_checked_before_parsing() -> None:
    data = b"\x00" * (cbor.DEFAULT_MAX_SIZE + 1)  # not even one valid item: refused on size
    with pytest.raises(MalformedError, match="more than the"):
        cbor.decode(data)


def test_depth_limit_is_configurable() -> None:
    nested = b"\x81" * 5 + b"\x00"
    assert cbor.decode(nested, max_depth=6) == [[[[[0]]]]]
    with pytest.raises(MalformedError, match="depth"):
        cbor.decode(nested, max_depth=4)


def test_default_depth_accepts_what_mdoc_needs() -> None:
    nested = b"\x81" * (cbor.DEFAULT_MAX_DEPTH - 1) + b"\x00"
    assert cbor.decode(nested) is not None


def test_decode_takes_bytes_only() -> None:
    with pytest.raises(TypeError):
        cbor.decode("a0")  # type: ignore[arg-type]


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert cbor.decode(bytearray(b"\xa1\x01\x02")) == {1: 2}
    assert cbor.decode(memoryview(b"\x83\x01\x02\x03")) == [1, 2, 3]


# --- dates ------------------------------------------------------------------------------


def test_tdate_converts_to_utc() -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    tag = cbor.tdate(dt.datetime(2026, 7, 1, 14, 0, 5, tzinfo=cest))
    assert tag == cbor.CBORTag(0, "2026-07-01T12:00:05Z")


def test_tdate_crosses_the_date_line() -> None:
    minus5 = dt.timezone(dt.timedelta(hours=-5))
    tag = cbor.tdate(dt.datetime(2026, 12, 31, 22, 30, 0, tzinfo=minus5))
    assert tag.value == "2027-01-01T03:30:00Z"


def test_tdate_drops_fractions() -> None:
    tag = cbor.tdate(dt.datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=dt.UTC))
    assert tag.value == "2026-01-02T03:04:05Z"


def test_tdate_encoding() -> None:
    tag = cbor.tdate(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert cbor.encode(tag) == b"\xc0\x74" + b"2026-01-02T03:04:05Z"


def test_tdate_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cbor.tdate(dt.datetime(2026, 1, 2, 3, 4, 5))


def test_full_date() -> None:
    tag = cbor.full_date(dt.date(2026, 3, 9))
    assert tag == cbor.CBORTag(1004, "2026-03-09")
    assert cbor.encode(tag) == b"\xd9\x03\xec\x6a" + b"2026-03-09"


def test_full_date_refuses_datetime() -> None:
    with pytest.raises(ValueError, match="not a datetime"):
        cbor.full_date(dt.datetime(2026, 3, 9, tzinfo=dt.UTC))


# --- tag 24 and heads -------------------------------------------------------------------

LENGTHS = [0, 1, 23, 24, 255, 256, 65535, 65536]


@pytest.mark.parametrize("n", LENGTHS)
def test_encode_tag24_matches_cbor2(n: int) -> None:
    inner = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
    assert len(inner) == n
    ours = cbor.encode_tag24(inner)
    assert ours == cbor2.dumps(cbor2.CBORTag(24, inner))
    assert ours == cbor.encode(cbor.wrap24(inner))


def test_tag24_heads_are_the_shortest_heads_for_every_size() -> None:
    # the table the item loops index (issue, to_bytes, verify): every size it covers, and the
    # sizes either side of its end, against cbor2's own encoding of the tagged string
    for n in range(300):
        inner = bytes(n)
        expected = cbor2.dumps(cbor2.CBORTag(24, inner))[: -n or None]
        assert cbor.tag24_head(n) == expected, n
        if n < 256:
            assert cbor.TAG24_HEADS[n] == expected, n
    assert len(cbor.TAG24_HEADS) == 256


@pytest.mark.parametrize("n", LENGTHS + [2**32 - 1, 2**32])
@pytest.mark.parametrize("major", [0, 2, 3, 4, 5, 6])
def test_head_matches_cbor2(major: int, n: int) -> None:
    fp = io.BytesIO()
    cbor2.CBOREncoder(fp).encode_length(major, n)
    assert cbor.head(major, n) == fp.getvalue()


@pytest.mark.parametrize("n", LENGTHS)
def test_head_frames_byte_and_text_strings_like_cbor2(n: int) -> None:
    assert cbor.head(2, n) + b"\x00" * n == cbor2.dumps(b"\x00" * n)
    assert cbor.head(3, n) + b"a" * n == cbor2.dumps("a" * n)


def test_unwrap24_keeps_bytes_exactly() -> None:
    # Not deterministic CBOR: a map with a 2-byte length head and unsorted keys.
    # Re-encoding would change it; digests are over exactly these bytes.
    inner = b"\xb9\x00\x02\x02\x01\x01\x02"
    outer = cbor.encode({"item": cbor.wrap24(inner)})
    got = cbor.unwrap24(cbor.decode(outer)["item"], what="item")
    assert got == inner
    assert cbor.encode(cbor.decode(got)) != inner  # proves the point of keeping them


def test_unwrap24_of_encode_tag24() -> None:
    inner = b"\xa1\x61a\x01"
    assert cbor.unwrap24(cbor.decode(cbor.encode_tag24(inner)), what="x") == inner


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param(b"\xa0", "must be tagged", id="untagged"),
        pytest.param(cbor.CBORTag(25, b"\xa0"), "must be tagged", id="other-tag"),
        pytest.param(cbor.CBORTag(24, "a0"), "must wrap a byte string", id="tag24-text"),
    ],
)
def test_unwrap24_refuses(value: object, words: str) -> None:
    with pytest.raises(MalformedError, match=words):
        cbor.unwrap24(value, what="IssuerSignedItemBytes")


def test_tag24_with_non_bytes_is_refused_after_decode() -> None:
    with pytest.raises(MalformedError, match="must wrap a byte string"):
        cbor.unwrap24(cbor.decode(b"\xd8\x18\x01"), what="x")


# --- deterministic encoding ---------------------------------------------------------------


def test_encode_is_length_first_sorted() -> None:
    # RFC 8949 §4.2.3 ordering: shorter encoded keys first, then bytewise.
    assert cbor.encode({"bb": 1, "a": 2, 10: 3, -1: 4}) == cbor2.dumps({10: 3, -1: 4, "a": 2, "bb": 1})


def test_encode_uses_shortest_heads() -> None:
    assert cbor.encode(23) == b"\x17"
    assert cbor.encode(24) == b"\x18\x18"
    assert cbor.encode(1.5) == b"\xf9\x3e\x00"


# --- properties ---------------------------------------------------------------------------

_scalars = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(max_size=30)
    | st.binary(max_size=30)
    | st.booleans()
    | st.none()
)
_keys = st.integers(min_value=-(2**64), max_value=2**64 - 1) | st.text(max_size=10)
values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_decode_encode_round_trip(value: object) -> None:
    assert cbor.decode(cbor.encode(value)) == value


@settings(max_examples=300, deadline=None)
@given(values)
def test_encode_agrees_with_cbor2_canonical(value: object) -> None:
    assert cbor.encode(value) == cbor2.dumps(value, canonical=True)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_malformed(data: bytes) -> None:
    # A value or MalformedError; any other exception propagates and fails the test.
    with contextlib.suppress(MalformedError):
        cbor.decode(data)


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from([b"\x81", b"\xa1\x00", b"\xd8\x18\x58", b"\xc1", b"\xc0", b"\xd9\x03\xec"]),
    st.binary(min_size=1, max_size=40),
)
def test_steered_garbage_raises_only_malformed(prefix: bytes, tail: bytes) -> None:
    # Prefixes steer the fuzzer into containers, tag 24 and the date tags.
    with contextlib.suppress(MalformedError):
        cbor.decode(prefix + tail)


@settings(max_examples=300, deadline=None)
@given(values, st.binary(min_size=1, max_size=8))
def test_valid_item_plus_trailing_bytes_is_refused(value: object, tail: bytes) -> None:
    with pytest.raises(MalformedError):
        cbor.decode(cbor.encode(value) + tail)
