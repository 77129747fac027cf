"""The mdoc verifier's fast paths decide exactly as the strict path does.

``verify_device_response`` first tries ``verify._fast_device_response``: a DeviceResponse of the
usual shape whose every check passes is verified there without building the parsed objects;
anything else gives ``None`` and the strict path (``DeviceResponse.from_bytes`` then the checks
one by one) decides. Three smaller fast paths sit under both: tag 0 in the form ISO 18013-5
writes (``cbor._decode_tdate``), the MSO's tag-24 wrapping split by hand (``mso.split_tag24``)
and the items decoded through one decoder (``cbor.decode_each``).

These tests hold each fast path to its strict counterpart: on genuine responses (full and
selective disclosure, pinned signer, issuer only, transcript as bytes), on hostile variants of
them (a byte changed, cut, extended, a bit flipped in a signed part, a time outside the
validity) and, for the small ones, on arbitrary input: the same result, check by check
(status, code, sentence), the same elements and certificate, or the same error.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl import cbor, verify
from edl.cose import KeySigner
from edl.errors import EdlError
from edl.issue import DocumentSigner, issue_mdoc
from edl.mdoc import DeviceResponse, SessionTranscript, mso
from edl.model import Licence
from edl.verify import Verdict, verify_device_response
from edl.wallet import respond
from edl.x509 import TrustAnchors
from edltest import NOW, licence_json

PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NS = "org.iso.18013.5.1"


@pytest.fixture(scope="module")
def world(city, device_key, issued, transcript):
    """Genuine responses, each with the arguments it is verified with."""
    signer = DocumentSigner(KeySigner(city.ds_key), city.ds)
    lic = Licence.from_json(licence_json(country="CN"))
    other = issue_mdoc(lic, device_key=device_key.public_key(), signer=signer, now=NOW)
    key = KeySigner(device_key)
    roots = TrustAnchors([city.root])
    pinned = TrustAnchors([city.ds])
    full = respond(issued, device_key=key, transcript=transcript).to_bytes()
    some = respond(
        other,
        device_key=key,
        transcript=transcript,
        disclose=[(NS, "family_name"), (NS, "portrait"), (NS, "issuing_country"), (NS, "age_over_18")],
    ).to_bytes()
    no_country = respond(
        other, device_key=key, transcript=transcript, disclose=[(NS, "family_name")]
    ).to_bytes()
    return [
        (full, {"trust": roots, "transcript": transcript}),
        (some, {"trust": roots, "transcript": transcript}),
        (no_country, {"trust": roots, "transcript": transcript.tagged}),
        (some, {"trust": pinned, "transcript": transcript}),
        (full, {"trust": roots, "transcript": None, "issuer_only": True}),
    ]


def _outcome(data: bytes, kwargs: dict, at: dt.datetime = NOW) -> object:
    result = verify_device_response(data, now=at, **kwargs)
    return (
        result.verdict,
        [(c.name, c.status, c.code, c.message, c.required, c.document) for c in result.checks],
        [type(c.error).__name__ if c.error is not None else None for c in result.checks],
        [(d.doc_type, d.elements, d.issuer_certificate) for d in result.documents],
    )


def _strict(monkeypatch: pytest.MonkeyPatch, data: bytes, kwargs: dict, at: dt.datetime = NOW) -> object:
    with monkeypatch.context() as m:
        m.setattr(verify, "_fast_device_response", lambda *_a, **_k: None)
        return _outcome(data, kwargs, at)


def _fast_taken(data: bytes, kwargs: dict, at: dt.datetime = NOW) -> bool:
    anchors = kwargs["trust"]
    return (
        verify._fast_device_response(
            cbor.decode(data),
            anchors,
            at,
            kwargs.get("transcript"),
            kwargs.get("issuer_only", False),
            None,
            verify.DEFAULT_STATUS_MAX_AGE,
        )
        is not None
    )


def test_genuine_responses_take_the_fast_path_and_agree(world, monkeypatch):
    for data, kwargs in world:
        assert _fast_taken(data, kwargs)
        fast = _outcome(data, kwargs)
        assert fast[0] in (Verdict.GREEN, Verdict.AMBER)  # amber: issuer only
        assert fast == _strict(monkeypatch, data, kwargs)


@pytest.mark.parametrize("days", [-400, -1, 1, 366, 5000])
def test_other_times_agree(world, monkeypatch, days):
    at = NOW + dt.timedelta(days=days)
    for data, kwargs in world:
        assert _outcome(data, kwargs, at) == _strict(monkeypatch, data, kwargs, at)


def test_wrong_transcript_and_no_transcript_agree(world, monkeypatch):
    wrong = SessionTranscript.from_bytes(cbor.encode([None, None, ["edl-test", b"other"]]))
    for data, kwargs in world[:3]:
        for transcript in (wrong, None):
            changed = {**kwargs, "transcript": transcript}
            assert _outcome(data, changed) == _strict(monkeypatch, data, changed)


def test_failures_the_fast_path_decides_agree(world, monkeypatch):
    """An expired licence, a replay (another session's transcript) and a forged signature are
    decided by the fast path (no signature checked twice), exactly as the strict path would."""
    data, kwargs = world[0]
    for days in (366, 500):  # the licence data expired; and its signer's certificate too
        expired = NOW + dt.timedelta(days=days)
        assert _fast_taken(data, kwargs, expired)
        assert _outcome(data, kwargs, expired)[0] is Verdict.RED
        assert _outcome(data, kwargs, expired) == _strict(monkeypatch, data, kwargs, expired)
    replay = {**kwargs, "transcript": SessionTranscript.from_bytes(cbor.encode([None, None, ["x", b"y"]]))}
    assert _fast_taken(data, replay)
    outcome = _outcome(data, replay)
    assert outcome[0] is Verdict.RED and ("device_auth", "DeviceAuthError") in [
        (c[0], e) for c, e in zip(outcome[1], outcome[2], strict=True)
    ]
    assert outcome == _strict(monkeypatch, data, replay)
    auth = DeviceResponse.from_bytes(data).documents[0].issuer_signed.issuer_auth
    forged = bytearray(data)
    at = data.find(auth.signature)
    forged[at + 5] ^= 0x80
    for args in (kwargs, world[4][1]):  # holder checked; issuer only
        assert _fast_taken(bytes(forged), args)
        outcome = _outcome(bytes(forged), args)
        assert outcome[0] is Verdict.RED and not outcome[3]  # no elements handed out
        assert outcome == _strict(monkeypatch, bytes(forged), args)


def test_every_signed_item_flipped_agrees(world, monkeypatch):
    data, kwargs = world[1]
    doc = DeviceResponse.from_bytes(data).documents[0]
    auth = doc.issuer_signed.issuer_auth
    parts = [auth.payload, auth.signature, doc.device_signed.device_signature.signature]
    parts += [i.raw for items in doc.issuer_signed.namespaces.values() for i in items]
    for part in parts:
        at = data.find(part)
        assert at >= 0
        for pos in (at, at + len(part) // 2, at + len(part) - 1):
            flipped = bytearray(data)
            flipped[pos] ^= 0x01
            outcome = _outcome(bytes(flipped), kwargs)
            assert outcome[0] is Verdict.RED
            assert outcome == _strict(monkeypatch, bytes(flipped), kwargs)


@PROPERTY
@given(pick=st.integers(min_value=0), at=st.integers(min_value=0), byte=st.integers(0, 255))
def test_one_byte_changed_agrees(world, monkeypatch, pick, at, byte):
    data, kwargs = world[pick % len(world)]
    changed = bytearray(data)
    changed[at % len(changed)] = byte
    assert _outcome(bytes(changed), kwargs) == _strict(monkeypatch, bytes(changed), kwargs)


@PROPERTY
@given(pick=st.integers(min_value=0), cut=st.integers(min_value=0), extra=st.binary(max_size=4))
def test_cut_or_extended_agrees(world, monkeypatch, pick, cut, extra):
    data, kwargs = world[pick % len(world)]
    changed = data[: len(data) - cut % len(data)] + extra
    if changed:
        assert _outcome(changed, kwargs) == _strict(monkeypatch, changed, kwargs)


def test_unusual_but_valid_shapes_agree(world, monkeypatch, city, device_key, issued, transcript):
    """Shapes the fast path leaves to the strict one still verify the same: an unknown field, a
    non-zero status, a deviceMac-less response without deviceSigned, a tagged issuerAuth."""
    data, kwargs = world[0]
    value = cbor.decode(data)
    variants = []
    extra = dict(value, extra=1)
    variants.append(extra)
    variants.append(dict(value, status=10))
    doc = dict(value["documents"][0])
    del doc["deviceSigned"]
    variants.append(dict(value, documents=[doc]))
    doc = dict(value["documents"][0])
    doc["issuerSigned"] = dict(
        doc["issuerSigned"], issuerAuth=cbor.CBORTag(18, doc["issuerSigned"]["issuerAuth"])
    )
    variants.append(dict(value, documents=[doc]))
    for v in variants:
        encoded = cbor.encode(v)
        assert _outcome(encoded, kwargs) == _strict(monkeypatch, encoded, kwargs)


def test_signer_checks_cached_per_document_index_agree(world, monkeypatch):
    """The checks of a signer that pass are built once per certificate, anchors and document
    index: two documents of one signer in a response still carry their own index, and
    verifying at a time the signer is expired, then valid again, reads the same as the strict
    path each time."""
    for data, kwargs in world[:4]:
        value = cbor.decode(data)
        doc = value["documents"][0]
        two = cbor.encode(dict(value, documents=[doc, doc]))
        assert _fast_taken(two, kwargs)
        fast = _outcome(two, kwargs)
        assert fast == _strict(monkeypatch, two, kwargs)
        assert {c[5] for c in fast[1]} == {None, 0, 1}
        for days in (0, 500, 0, -400, 0):
            at = NOW + dt.timedelta(days=days)
            assert _outcome(two, kwargs, at) == _strict(monkeypatch, two, kwargs, at)


def test_a_country_the_signer_does_not_have_agrees(monkeypatch, city, device_key, transcript):
    signer = DocumentSigner(KeySigner(city.ds_key), city.ds)
    verdicts = []
    for country in ("CN", "DE", "FR"):
        lic = Licence.from_json(licence_json(country=country))
        doc = issue_mdoc(lic, device_key=device_key.public_key(), signer=signer, now=NOW)
        data = respond(
            doc, device_key=KeySigner(device_key), transcript=transcript, disclose=[(NS, "issuing_country")]
        ).to_bytes()
        kwargs = {"trust": TrustAnchors([city.root]), "transcript": transcript}
        outcome = _outcome(data, kwargs)
        assert outcome == _strict(monkeypatch, data, kwargs)
        verdicts.append(outcome[0])
    assert Verdict.RED in verdicts and Verdict.GREEN in verdicts  # one matches, others do not


# -- the small fast paths -----------------------------------------------------------------


def _tdate_outcome(fn, text: object) -> object:
    try:
        return fn(text)
    except EdlError as e:
        return (type(e).__name__, e.code, e.message)


_NEAR_TDATE = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    fullmatch=True,
)


@settings(max_examples=1000)
@given(text=_NEAR_TDATE | st.text(min_size=20, max_size=20) | st.text(alphabet="0123456789-T:Z", max_size=24))
def test_tdate_fast_path_matches_the_pattern(text):
    assert _tdate_outcome(cbor._decode_tdate, text) == _tdate_outcome(cbor._decode_tdate_text, text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-01T08:00:00Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-02-29T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2026-06-01T24:00:00Z",
        "2026-06-01T08:00:60Z",
        "2026-13-01T08:00:00Z",
        "2026-06-01t08:00:00Z",
        "2026-06-01T08:00:00z",
        "２０２６-06-01T08:00:00Z",
    ],
)
def test_tdate_edges(text):
    assert _tdate_outcome(cbor._decode_tdate, text) == _tdate_outcome(cbor._decode_tdate_text, text)


def _strict_unwrap(data: bytes) -> object:
    try:
        return cbor.unwrap24(cbor.decode(data, what="MSO"), what="MSO")
    except EdlError:
        return None


@settings(max_examples=1000)
@given(
    inner=st.binary(max_size=300),
    head=st.sampled_from([None, 0x58, 0x59, 0x5A]),
    extra=st.binary(max_size=3),
    cut=st.integers(0, 3),
)
def test_mso_split_matches_the_decoder(inner, head, extra, cut):
    if head is None:
        body = cbor.head(2, len(inner)) + inner
    else:
        size = {0x58: 1, 0x59: 2, 0x5A: 4}[head]
        if len(inner) >= 1 << (8 * size):
            return
        body = bytes([head]) + len(inner).to_bytes(size, "big") + inner
    data = b"\xd8\x18" + body + extra
    data = data[: len(data) - cut] if cut else data
    split = mso.split_tag24(data)
    if split is not None:
        assert split == _strict_unwrap(data)


def test_genuine_mso_takes_the_split(issued):
    payload = issued.issuer_auth.payload
    assert mso.split_tag24(payload) == _strict_unwrap(payload)
    assert mso.split_tag24(payload) is not None


_CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _each_strict(items: list[bytes]) -> list[object] | None:
    try:
        return [cbor.decode(i) for i in items]
    except (EdlError, TypeError):
        return None


@settings(max_examples=1000)
@given(
    values=st.lists(_CBOR_VALUES, min_size=1, max_size=5),
    cuts=st.lists(st.integers(-2, 2), min_size=5, max_size=5),
    junk=st.lists(st.binary(max_size=6), max_size=2),
)
def test_decode_each_matches_decode(values, cuts, junk):
    items = [cbor.encode(v) for v in values]
    # move bytes between neighbours, cut or extend: boundaries that do not match the items
    for i in range(len(items) - 1):
        c = cuts[i]
        if c > 0:
            items[i], items[i + 1] = items[i] + items[i + 1][:c], items[i + 1][c:]
        elif c < 0:
            items[i], items[i + 1] = items[i][:c], items[i][c:] + items[i + 1]
    items += junk
    each = cbor.decode_each(items)
    strict = _each_strict(items)
    if each is not None:
        assert each == strict
    else:
        assert strict is None


def test_decode_each_refuses_what_decode_refuses():
    assert cbor.decode_each([b"\xa2\x61a\x01\x61a\x02"]) is None  # duplicate key
    assert cbor.decode_each([b"\x01\x02"]) is None  # trailing byte
    assert cbor.decode_each([b"\x82\x01", b"\x02"]) is None  # one item split over two
    assert cbor.decode_each([b""]) is None
    assert cbor.decode_each([b"\xd8\x19\x00"]) is None  # refused tag 25
    assert cbor.decode_each([b"\x01", b"\x62ab"]) == [1, "ab"]


def test_a_failed_decode_each_leaves_a_working_decoder():
    assert cbor.decode_each([b"\xa2\x61a\x01\x61a\x02"]) is None
    assert cbor.decode(b"\xa1\x61a\x01") == {"a": 1}
    assert cbor.decode_each([b"\xa1\x61a\x01"]) == [{"a": 1}]


def test_other_curves_verify_the_same(monkeypatch, city, transcript):
    """A P-384 holder key: the device key read through the curve table of ``key_from_cose``."""
    device = ec.generate_private_key(ec.SECP384R1())
    signer = DocumentSigner(KeySigner(city.ds_key), city.ds)
    lic = Licence.from_json(licence_json(country="CN"))
    issued = issue_mdoc(lic, device_key=device.public_key(), signer=signer, now=NOW)
    data = respond(issued, device_key=KeySigner(device), transcript=transcript).to_bytes()
    kwargs = {"trust": TrustAnchors([city.root]), "transcript": transcript}
    assert _fast_taken(data, kwargs)
    assert _outcome(data, kwargs)[0] is Verdict.GREEN
    assert _outcome(data, kwargs) == _strict(monkeypatch, data, kwargs)
