"""``safe_repr`` renders anything an attacker can put in CBOR or JSON: short, one line, no raise.

Python refuses ``str()`` of an integer of more than 4,300 digits, so any message that formats a
decoded value could raise instead of reporting; ``safe_repr`` is what messages use instead, and
the JSON view of verified elements (``to_json_value``) relies on it for what it cannot print."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from edl.cbor import CBORTag
from edl.errors import safe_repr
from edl.mdoc.namespaces import to_json_value

huge_ints = st.builds(
    lambda sign, digits, low: sign * (10**digits + low),
    st.sampled_from([1, -1]),
    st.integers(4_000, 20_000),
    st.integers(0, 2**64),
)
keys = st.integers() | huge_ints | st.text(max_size=50) | st.binary(max_size=50)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | huge_ints
    | st.floats()
    | st.text(max_size=300)
    | st.binary(max_size=300)
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
    | st.fractions()
    | st.decimals()
)
values = st.recursive(
    leaves,
    lambda kids: (
        st.lists(kids, max_size=6)
        | st.tuples(kids, kids)
        | st.dictionaries(keys, kids, max_size=6)
        | st.frozensets(keys, max_size=4)
        | st.builds(CBORTag, st.integers(0, 2**64 - 1), kids)
    ),
    max_leaves=40,
)


def _nest(depth: int, leaf: object) -> object:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(8, 300))
def test_safe_repr_is_one_short_line_for_any_value(value, limit):
    text = safe_repr(value, limit=limit)
    assert isinstance(text, str) and 0 < len(text) <= limit
    assert "\n" not in text and "\r" not in text


@settings(max_examples=50, deadline=None)
@given(depth=st.integers(0, 5_000), leaf=huge_ints)
def test_safe_repr_of_deep_nesting_stays_shallow(depth, leaf):
    assert len(safe_repr(_nest(depth, leaf))) <= 60


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_json_view_of_any_value_can_be_printed(value):
    json.dumps(to_json_value(value))
