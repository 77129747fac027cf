"""Hostile input to the status list and bundle decoders: any bytes give a typed EdlError (or,
for bytes that happen to be valid, a result), never another exception.

Hypothesis feeds arbitrary bytes, byte-level mutations of a genuine token and bundle, and
hand-built claim maps of any shape signed by the city's real status signer (so the claims
parser is reached past the signature)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl.bundle import build_bundle, load_bundle, replace_status
from edl.errors import EdlError
from edl.status import decode_status_list, verify_status_list
from edl.trust import verify_trust_list
from edl.x509 import TrustAnchors
from edltest import NOW
from statustest import claims_for, make_status_signer_for, publish_trust_list, raw_token, token

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def material(city):
    signer = make_status_signer_for(city)
    published = publish_trust_list({"cn-qingdao": (city, "CN")})
    genuine = token(signer)
    bundle = build_bundle([published.data], [genuine])
    return signer, published, genuine, bundle


def _load(data, published):
    verify = lambda raw: verify_trust_list(raw, [published.root], now=NOW)  # noqa: E731
    return load_bundle(data, verify_trust_list=verify, now=LATER)


@FAST
@given(data=st.binary(max_size=600))
def test_decode_status_list_on_arbitrary_bytes(data):
    with contextlib.suppress(EdlError):
        decode_status_list(data)


@FAST
@given(data=st.binary(max_size=600))
def test_load_bundle_on_arbitrary_bytes(data, material):
    _, published, _, bundle = material
    with contextlib.suppress(EdlError):
        _load(data, published)
    with contextlib.suppress(EdlError):
        replace_status(data, material[2])
    with contextlib.suppress(EdlError):
        replace_status(bundle, data)


mutation = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=4)


def _mutate(data: bytes, changes) -> bytes:
    out = bytearray(data)
    for at, value in changes:
        out[at % len(out)] = value
    return bytes(out)


@FAST
@given(changes=mutation, cut=st.integers(min_value=0, max_value=8))
def test_mutated_token(changes, cut, material, city):
    _, _, genuine, _ = material
    data = _mutate(genuine, changes)
    data = data[: len(data) - cut]
    with contextlib.suppress(EdlError):
        verify_status_list(data, city_anchors=TrustAnchors([city.root]), now=LATER)


@FAST
@given(changes=mutation)
def test_mutated_bundle(changes, material):
    _, published, _, bundle = material
    with contextlib.suppress(EdlError):
        _load(_mutate(bundle, changes), published)


cbor_key = st.one_of(st.integers(-70000, 70000), st.text(max_size=5))
cbor_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**65), 2**65),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.binary(max_size=16),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(cbor_key, children, max_size=4),
    ),
    max_leaves=12,
)


@FAST
@given(key=st.sampled_from([2, 4, 6, 65533, 65534, -65537, "bits"]), value=cbor_value)
def test_any_claim_value_signed_by_the_real_signer(key, value, material, city):
    signer, _, _, _ = material
    claims = claims_for()
    if key == "bits":
        claims[65533] = {**claims[65533], "bits": value}
    else:
        claims[key] = value
    data = raw_token(signer.signer, [signer.der], claims)
    with contextlib.suppress(EdlError):
        verify_status_list(data, city_anchors=TrustAnchors([city.root]), now=LATER)
