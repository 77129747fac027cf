"""Issuing frames its bytes by hand; each framing gives exactly the deterministic encoding.

``IssuerSignedItem`` (``items.frame``), the MSO (``MobileSecurityObject.to_bytes``) and
``IssuerSigned.to_bytes`` build their bytes without walking a value tree through the encoder;
these tests hold each to ``cbor.encode`` of the same value, and check that ``to_bytes`` sends
the very bytes issuing made (the digests the MSO signs are of those bytes)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from edl import cbor, cose
from edl.cose import KeySigner
from edl.issue import DocumentSigner, issue_mdoc
from edl.mdoc import IssuerSigned, IssuerSignedItem
from edl.mdoc.items import frame
from edl.mdoc.mso import DeviceKeyInfo, MobileSecurityObject, StatusReference, ValidityInfo
from edl.model import Licence
from edl.verify import Verdict, verify_issuer_signed
from edltest import NOW, licence_json

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.text(max_size=30)
    | st.binary(max_size=40)
    | st.floats(allow_nan=False)
    | st.builds(
        cbor.CBORTag, st.sampled_from([0, 1004, 24, 100]), st.text(max_size=10) | st.binary(max_size=10)
    )
    | st.builds(cbor.full_date, st.dates()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=500)
@given(
    digest_id=st.integers(0, 2**31 - 1),
    ident=st.text(min_size=1, max_size=40),
    value=_VALUES,
    salt=st.binary(min_size=16, max_size=40),
)
def test_item_framing_is_the_deterministic_encoding(digest_id, ident, value, salt):
    expected = cbor.encode(
        {"digestID": digest_id, "random": salt, "elementIdentifier": ident, "elementValue": value}
    )
    assert frame(digest_id, ident, value, salt) == expected
    item = IssuerSignedItem.create(digest_id, ident, value, salt=salt)
    assert item.raw == expected
    assert item.digest() == hashlib.sha256(cbor.encode(cbor.wrap24(expected))).digest()


@pytest.fixture(scope="module")
def signer(city):
    return DocumentSigner(KeySigner(city.ds_key), city.ds)


def _licence(extra_namespaces: dict | None = None) -> Licence:
    data = licence_json()
    if extra_namespaces:
        data = {**data, **extra_namespaces}
    return Licence.from_json(data)


def test_issued_bytes_are_the_deterministic_encoding(city, signer, device_key):
    issued = issue_mdoc(_licence(), device_key=device_key.public_key(), signer=signer, now=NOW)
    data = issued.to_bytes()
    assert data == cbor.encode(issued.to_value())
    # the items sent are the items whose digests were signed
    mso = issued.mso()
    sent = IssuerSigned.from_bytes(data)
    for ns, items in sent.namespaces.items():
        for item in items:
            assert mso.value_digests[ns][item.digest_id] == hashlib.sha256(item.tagged).digest()
    assert verify_issuer_signed(data, trust=[city.root], now=NOW).verdict is Verdict.AMBER  # holder unchecked
    assert not verify_issuer_signed(data, trust=[city.root], now=NOW).failures()


def test_issuing_shuffles_digest_ids_and_salts_every_item_afresh(signer, device_key):
    # ISO 18013-5 §9.1.2.5: digest IDs reveal nothing of the elements (a fresh shuffle of
    # 0..n-1 each time), each item has its own 16 random bytes (one read of the system's
    # randomness gives both, in separate parts)
    orders, salts = set(), []
    for _ in range(6):
        issued = issue_mdoc(_licence(), device_key=device_key.public_key(), signer=signer, now=NOW)
        items = [i for per_ns in issued.namespaces.values() for i in per_ns]
        assert sorted(i.digest_id for i in items) == list(range(len(items)))
        assert all(len(i.random) == 16 for i in items)
        orders.add(tuple(i.digest_id for i in items))
        salts += [i.random for i in items]
    assert len(orders) == 6  # 20! orders: a repeat means no shuffle
    assert len(set(salts)) == len(salts)


@pytest.mark.parametrize(
    "namespaces",
    [
        {},
        {"org.iso.18013.5.1": ()},
        {"b": (), "aa": (), "a": (), "org.iso.18013.5.1.aamva": (), "z" * 30: (), "é": ()},
    ],
)
def test_to_bytes_orders_namespaces_as_the_encoder_does(city, signer, device_key, namespaces):
    issued = issue_mdoc(_licence(), device_key=device_key.public_key(), signer=signer, now=NOW)
    items = next(iter(issued.namespaces.values()))
    rebuilt = IssuerSigned(
        namespaces={ns: items[: 1 + i % 3] for i, ns in enumerate(namespaces)},
        issuer_auth=issued.issuer_auth,
        issuer_auth_value=issued.issuer_auth_value,
    )
    assert rebuilt.to_bytes() == cbor.encode(rebuilt.to_value())


def test_received_issuer_signed_is_sent_again_as_the_encoder_would(city, signer, device_key):
    issued = issue_mdoc(_licence(), device_key=device_key.public_key(), signer=signer, now=NOW)
    again = IssuerSigned.from_bytes(issued.to_bytes())
    assert again.to_bytes() == issued.to_bytes()
    chain = DocumentSigner(KeySigner(city.ds_key), city.ds, chain=[city.root])
    with_chain = issue_mdoc(_licence(), device_key=device_key.public_key(), signer=chain, now=NOW)
    assert with_chain.to_bytes() == cbor.encode(with_chain.to_value())


_KEYS = {
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
}


@pytest.mark.parametrize("key", sorted(_KEYS))
def test_encode_key_is_the_deterministic_encoding_of_the_cose_key(key):
    public = _KEYS[key]().public_key()
    assert cose.encode_key(public) == cbor.encode(cose.key_to_cose(public))
    assert cose.key_from_cose(cbor.decode(cose.encode_key(public))) == public


@settings(max_examples=200, deadline=None)
@given(
    namespaces=st.dictionaries(
        st.text(min_size=1, max_size=30),
        st.dictionaries(st.integers(0, 2**40), st.binary(min_size=32, max_size=32), min_size=1, max_size=5),
        min_size=1,
        max_size=4,
    ),
    seconds=st.integers(0, 10**10),
    span=st.integers(1, 10**9),
    status=st.none() | st.builds(StatusReference, idx=st.integers(0, 2**32), uri=st.text(max_size=40)),
    key=st.sampled_from(["p256", "p384", "p521", "ed25519"]),
    micro=st.integers(0, 999_999),
    later_from=st.booleans(),
    update=st.none() | st.integers(1, 10**6),
)
def test_mso_framing_is_the_deterministic_encoding(
    namespaces, seconds, span, status, key, micro, later_from, update
):
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds, microseconds=micro)
    mso = MobileSecurityObject(
        doc_type="org.iso.18013.5.1.mDL",
        value_digests=namespaces,
        device_key_info=DeviceKeyInfo(device_key=_KEYS[key]().public_key()),
        validity_info=ValidityInfo(
            signed=start,
            valid_from=start + dt.timedelta(seconds=1) if later_from else start,
            valid_until=start + dt.timedelta(seconds=span + 1),
            expected_update=None if update is None else start + dt.timedelta(seconds=update),
        ),
        status=status,
    )
    assert mso.to_bytes() == cbor.encode_tag24(cbor.encode(mso.to_value()))
    assert MobileSecurityObject.from_payload(mso.to_bytes()).value_digests == namespaces


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 6, 1, 8, 0, 0, 999_999, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(0))),
    ],
)
def test_tdate_is_utc_whole_seconds(moment):
    utc = moment.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    assert cbor.tdate(moment) == cbor.CBORTag(0, utc.isoformat() + "Z")


def test_issue_mdoc_takes_a_document_signer(signer, city, device_key):
    licence = _licence()
    issued = issue_mdoc(licence, device_key=device_key.public_key(), signer=signer, now=NOW)
    assert issued.certificate_chain() == [signer.x5chain]
    with pytest.raises(TypeError, match="DocumentSigner"):
        issue_mdoc(licence, device_key=device_key.public_key(), signer=KeySigner(city.ds_key), now=NOW)
    with pytest.raises(TypeError, match="already carries"):
        issue_mdoc(
            licence, device_key=device_key.public_key(), signer=signer, signer_certificate=city.ds, now=NOW
        )


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("2030-01-01", dt.datetime(2030, 1, 2, tzinfo=dt.UTC)),  # its last day counts
        ("2028-02-29", dt.datetime(2028, 3, 1, tzinfo=dt.UTC)),
        ("9999-12-31", None),  # no midnight after it that Python can hold
    ],
)
def test_a_licence_expires_at_the_midnight_after_its_expiry_date(expiry, expected):
    assert _licence({"expiry_date": expiry}).expires_at == expected


@pytest.mark.parametrize("expiry", ["9999-12-31", (NOW + dt.timedelta(days=30)).date().isoformat()])
def test_issued_validity_is_a_year_cut_to_the_signer_and_the_licence(signer, city, device_key, expiry):
    # found by fuzz_files: a licence expiring on 9999-12-31 made issue_mdoc raise OverflowError
    licence = _licence({"expiry_date": expiry})
    issued = issue_mdoc(licence, device_key=device_key.public_key(), signer=signer, now=NOW)
    bounds = [NOW + dt.timedelta(days=365), signer.not_after]
    if licence.expires_at is not None:
        bounds.append(licence.expires_at)
    assert issued.mso().validity_info.valid_until == min(bounds).replace(microsecond=0)
    assert not verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW).failures()
    if licence.expires_at is not None:  # a licence expiring within the year bounds its credential
        assert issued.mso().validity_info.valid_until == licence.expires_at
