"""Hostile input: any bytes give a red result or a typed EdlError, never another exception.

Hypothesis drives arbitrary bytes into every decoder and into the verifier, and mutates the
decoded tree of a genuine DeviceResponse (replace, drop or retype any node)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edl import cbor
from edl.cose import KeySigner
from edl.errors import EdlError
from edl.mdoc import DeviceResponse, IssuerSigned, MobileSecurityObject, SessionTranscript
from edl.verify import Verdict, verify_device_response, verify_issuer_signed
from edl.wallet import respond
from edltest import NOW

DECODERS = [
    DeviceResponse.from_bytes,
    IssuerSigned.from_bytes,
    MobileSecurityObject.from_payload,
    SessionTranscript.from_bytes,
]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__qualname__)
@FAST
@given(data=st.binary(min_size=0, max_size=400))
def test_decoders_raise_only_edl_errors(decode, data):
    with contextlib.suppress(EdlError):
        decode(data)


@FAST
@given(data=st.binary(max_size=600))
def test_verifier_on_random_bytes_is_red(data, city):
    assert verify_device_response(data, trust=[city.root], now=NOW).verdict is Verdict.RED
    assert verify_issuer_signed(data, trust=[city.root], now=NOW).verdict is Verdict.RED


cbor_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64 - 1),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.floats(allow_nan=False),
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node's path (tags are leaves: their contents are covered by the bit-flip test)."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _set(root: Any, path: tuple, new: Any, drop: bool) -> Any:
    if not path:
        return new
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if drop and isinstance(parent, dict):
        del parent[last]
    elif drop and isinstance(parent, list):
        parent.pop(last)
    else:
        parent[last] = new
    return root


@pytest.fixture(scope="module")
def genuine_value(city, device_key, issued, transcript):
    return respond(issued, device_key=KeySigner(device_key), transcript=transcript).to_bytes()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(min_value=0), new=cbor_leaf, drop=st.booleans())
def test_structural_mutations_never_crash(pick, new, drop, genuine_value, city, transcript):
    value = cbor.decode(genuine_value)  # a fresh tree each time
    paths = _paths(value)
    path = paths[pick % len(paths)]
    mutated = _set(value, path, new, drop)
    try:
        data = cbor.encode(mutated)
    except Exception:  # noqa: BLE001 - the mutation itself is not encodable; nothing to test
        return
    result = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript)
    if result.verdict is Verdict.GREEN:
        # Removing items is what selective disclosure does, so green can survive a change to
        # unsigned framing; but every element shown must be a genuine one, unchanged.
        genuine = verify_device_response(genuine_value, trust=[city.root], now=NOW, transcript=transcript)
        real = genuine.documents[0].elements
        for doc in result.documents:
            for ns, elements in doc.elements.items():
                for ident, v in elements.items():
                    assert real[ns][ident] == v
