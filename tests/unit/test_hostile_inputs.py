"""Hostile bytes and files give a red result or an ``EdlError``, never another exception.

Each test here is a regression of one finding of the outside review (issue #8, item 4): the
input that made ``edl`` raise something else, and the typed answer it gives now.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.compact import CONTENT_TYPE, decode_compact
from edl.errors import MalformedError, UnsupportedError, safe_repr
from edl.mdoc import DeviceResponse, IssuerSigned
from edl.mdoc.items import IssuerSignedItem
from edl.mdoc.mso import MobileSecurityObject, StatusReference
from edl.presentation import FRAME_CONTENT_TYPE, encode_text, parse_payload
from edl.verify import CheckStatus, Verdict, verify_device_response, verify_issuer_signed
from edltest import NOW

HUGE = 10**5000  # more digits than Python's int -> str limit (4,300): str(HUGE) raises ValueError
YEAR_10000 = 253_402_300_800  # first epoch second datetime cannot hold; still < 2**40


# --- 1. untrusted values in messages ------------------------------------------------------


def test_device_response_version_bignum_is_unsupported():
    with pytest.raises(UnsupportedError, match="integer of 16610 bits"):
        DeviceResponse.from_bytes(cbor.encode({"version": HUGE, "status": 0}))


def test_device_response_status_bignum_is_red(city):
    data = cbor.encode({"version": "1.0", "status": HUGE})
    result = verify_device_response(data, trust=[city.root], now=NOW, issuer_only=True)
    assert result.verdict is Verdict.RED
    assert result.checks[0].code == "no_documents" and "integer of" in result.checks[0].message


def _sign1_bytes(protected: dict, unprotected: dict | None = None) -> bytes:
    return cbor.encode([cbor.encode(protected), unprotected or {}, b"payload", b"\x00" * 64])


def test_cose_alg_bignum_is_unsupported():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(UnsupportedError, match="algorithm <integer of"):
        cose.decode_sign1(_sign1_bytes({1: HUGE})).verify(key)


def test_cose_header_label_bignum_in_both_buckets_is_malformed():
    with pytest.raises(MalformedError, match="in both buckets"):
        cose.decode_sign1(_sign1_bytes({1: -7, HUGE: 1}, {HUGE: 2}))


def test_cose_crit_bignum_is_unsupported():
    with pytest.raises(UnsupportedError, match="critical header"):
        cose.decode_sign1(_sign1_bytes({1: -7, 2: [HUGE], HUGE: 0}))


@pytest.mark.parametrize(
    "cose_key",
    [{1: HUGE, -1: 1}, {1: 2, -1: HUGE}, {1: HUGE, -1: "P-256"}, {1: 1, -1: HUGE}],
    ids=["kty", "ec2-crv", "kty-with-text-crv", "okp-crv"],
)
def test_cose_key_bignum_params_are_unsupported(cose_key):
    with pytest.raises(UnsupportedError, match="integer of"):
        cose.key_from_cose(cose_key)


def test_issuer_signed_unknown_field_bignum_is_malformed():
    with pytest.raises(MalformedError, match="unexpected fields"):
        IssuerSigned.from_value({"issuerAuth": [], HUGE: 1})


def test_issuer_signed_item_unknown_field_bignum_is_malformed():
    item = {"digestID": 1, "random": b"r" * 16, "elementIdentifier": "x", "elementValue": 1, HUGE: 0}
    with pytest.raises(MalformedError, match="unexpected fields"):
        IssuerSignedItem.from_value(cbor.wrap24(cbor.encode(item)), namespace="org.iso.18013.5.1")


@pytest.mark.parametrize("field", ["version", "digestAlgorithm"])
def test_mso_version_or_digest_algorithm_bignum_is_unsupported(field):
    value = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "valueDigests": {},
        "deviceKeyInfo": {},
        "docType": "x",
        "validityInfo": {},
        field: HUGE,
    }
    with pytest.raises(UnsupportedError, match="integer of"):
        MobileSecurityObject.from_value(value)


def test_signed_status_index_bignum_is_judged(city, device_key, licence):
    # A city that signs a nonsense status index: the verifier still answers (amber/red), and
    # the status message shows the index by its size.
    from edl.cose import KeySigner
    from edl.issue import issue_mdoc

    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
        status=StatusReference(idx=HUGE, uri="https://status.example/1"),
    )
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    status = next(c for c in result.checks if c.name == "status")
    assert status.code == "status_unchecked" and "integer of" in status.message


def test_unknown_qr_version_message_is_bounded():
    from edl.presentation import decode_text

    with pytest.raises(UnsupportedError) as caught:
        decode_text("DL" + "7" * 100_000 + ":ABC")
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    "value",
    [
        HUGE,
        -HUGE,
        [HUGE] * 1000,
        {HUGE: HUGE},
        "x" * 1_000_000,
        b"\x00" * 1_000_000,
        cbor.CBORTag(2**64 - 1, HUGE),
        1.5,
        None,
        frozenset({1, 2}),
        dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
    ],
    ids=safe_repr,
)
def test_safe_repr_is_short_and_never_raises(value):
    assert 0 < len(safe_repr(value)) <= 60
    assert 0 < len(safe_repr(value, limit=200)) <= 200


def test_safe_repr_survives_deep_nesting():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert safe_repr(deep) == "[[[[…]]]]"


# --- 2. times beyond the year 9999 --------------------------------------------------------


def _frame(credential: bytes, signed_at: int) -> bytes:
    device = cose.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    payload = cbor.encode([credential, signed_at, None])
    return cose.sign1(device, payload, protected={cose.Header.CONTENT_TYPE: FRAME_CONTENT_TYPE})


def _compact(issued: int, valid_until: int) -> bytes:
    ds = cose.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    phone = ec.generate_private_key(ec.SECP256R1()).public_key()
    from cryptography.hazmat.primitives import serialization

    claims = {
        1: "cn-qingdao",
        2: issued,
        3: valid_until,
        5: phone.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint),
        6: 3,  # rental: no portrait
    }
    return cose.sign1(
        ds, cbor.encode(claims), protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE, cose.Header.KID: b"k" * 8}
    )


def test_frame_signed_after_year_9999_is_malformed():
    good = _compact(1_780_300_800, 1_800_000_000)
    assert parse_payload(_frame(good, 1_780_300_800)).signed_at.year == 2026
    with pytest.raises(MalformedError, match="epoch seconds"):
        parse_payload(_frame(good, YEAR_10000))
    assert parse_payload(_frame(good, YEAR_10000 - 1)).signed_at == dt.datetime(
        9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("issued,valid_until", [(YEAR_10000, YEAR_10000 + 1), (1_780_300_800, YEAR_10000)])
def test_compact_credential_times_after_year_9999_are_malformed(issued, valid_until):
    with pytest.raises(MalformedError, match="epoch seconds"):
        decode_compact(_compact(issued, valid_until))


def test_garbage_frame_text_is_red_not_a_crash(trust_list_one_city):
    from edl.verify_qr import verify_presentation

    text = encode_text(_frame(_compact(1_780_300_800, 1_800_000_000), YEAR_10000))
    result = verify_presentation([text], trust=trust_list_one_city, now=NOW)
    assert result.verdict is Verdict.RED
    assert (result.checks[0].name, result.checks[0].status, result.checks[0].code) == (
        "structure",
        CheckStatus.FAILED,
        "malformed",
    )


@pytest.fixture(scope="module")
def trust_list_one_city(city):
    from edltest import make_trust_list

    return make_trust_list({"cn-qingdao": (city, "CN")})


@pytest.mark.parametrize(
    "text",
    ["9999-12-31T23:59:59-23:59", "9999-12-31T23:00:00-01:00", "0001-01-01T00:30:00+01:00"],
)
def test_tdate_that_has_no_utc_datetime_is_malformed(text):
    # cbor2 gave back a datetime whose astimezone(UTC) raised OverflowError later (a VICAL's
    # dates, the JSON output of a date-time element).
    with pytest.raises(MalformedError, match="years 1 and 9999"):
        cbor.decode(cbor.encode(cbor.CBORTag(0, text)))


def test_tdate_at_the_edges_still_decodes():
    latest = cbor.decode(cbor.encode(cbor.CBORTag(0, "9999-12-31T23:59:59Z")))
    assert latest == dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    east = cbor.decode(cbor.encode(cbor.CBORTag(0, "2026-06-01t08:00:00+08:00")))
    assert east.astimezone(dt.UTC) == dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


def test_tdate_encoder_refuses_a_time_without_utc_form():
    minus5 = dt.timezone(dt.timedelta(hours=-5))
    with pytest.raises(ValueError, match="years 1 to 9999"):
        cbor.tdate(dt.datetime(9999, 12, 31, 23, 0, tzinfo=minus5))


def test_licence_date_time_without_utc_form_is_a_licence_error():
    from edl.model import Licence, LicenceError
    from edltest import licence_json

    data = licence_json() | {"portrait_capture_date": "9999-12-31T23:59:59-05:00"}
    with pytest.raises(LicenceError, match="portrait_capture_date: the time falls outside"):
        Licence.from_json(data)
