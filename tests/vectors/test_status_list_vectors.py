"""The Token Status List draft's own vectors (draft-ietf-oauth-status-list-20) through edl.status.

Provenance: tests/data/vectors/PROVENANCE.md and status-list/README.md. Byte-exact where the draft
gives bytes: every ``StatusList`` (bits 1, 2, 4 and 8) decodes to the statuses the draft lists and
is re-encoded (zlib level 9, the draft's map order) to the same bytes; the Status List Token
(CWT) and the Referenced Token decode, and their ES256 signatures verify with the draft's example
key; the ISO mdoc IssuerAuth (the draft's former §"ISO mdoc") carries the MSO ``status`` edl reads.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.errors import StatusIndexError, StatusListError
from edl.mdoc import MobileSecurityObject
from edl.mdoc.mso import StatusReference
from edl.status import STATUS_LIST_TYP, StatusList, decode_status_list, verify_status_list
from edl.x509 import TrustAnchors, load_certificate
from edltest import NOW, VECTORS, make_city

DIR = VECTORS / "status-list"
EXAMPLES = DIR / "examples"
UTC = dt.UTC


def _vectors() -> dict[str, Any]:
    return json.loads((DIR / "tsl_test_vectors.json").read_text(encoding="utf-8"))


def _cases() -> list[dict[str, Any]]:
    return _vectors()["status_list_cases"]


def _hex_file(name: str) -> bytes:
    """The hex in an examples/*.md file (after an ``encoded:`` line when there is one)."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    if "encoded:" in text:
        text = text.split("encoded:", 1)[1]
    return bytes.fromhex("".join(text.split()))


def _diag_bytes(name: str) -> bytes:
    """The bytes of a cbor2diag-style ``*_diag.md`` listing: the hex left of each ``#``."""
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return bytes.fromhex("".join(line.split("#", 1)[0].replace(" ", "") for line in lines))


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _example_key() -> ec.EllipticCurvePublicKey:
    jwk = _vectors()["tokens"]["key_jwk_public"]
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("EC", "P-256", "12")
    point = b"\x04" + _b64url(jwk["x"]) + _b64url(jwk["y"])
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def _nonzero(lst: StatusList) -> dict[int, int]:
    """Every non-zero entry (found byte by byte: a 2^20-entry list has few)."""
    raw = lst.to_bytes()
    per_byte = 8 // lst.bits
    out = {}
    for at in (i for i, b in enumerate(raw) if b):
        for k in range(per_byte):
            value = lst.get(at * per_byte + k)
            if value:
                out[at * per_byte + k] = value
    return out


CBOR_FILES = {
    "1bit-16": "status_list_encoding_cbor.md",
    "2bit-12": "status_list_encoding2_cbor.md",
    "1bit-2^20": "status_list_encoding1_long_cbor.md",
    "2bit-2^20": "status_list_encoding2_long_cbor.md",
    "4bit-2^20": "status_list_encoding4_cbor.md",
    "8bit-2^20": "status_list_encoding8_cbor.md",
}
DIAG_FILES = {"1bit-16": "status_list_encoding_cbor_diag.md", "2bit-12": "status_list_encoding2_cbor_diag.md"}


def test_every_case_is_here():
    assert [c["id"] for c in _cases()] == list(CBOR_FILES)
    assert sorted({c["bits"] for c in _cases()}) == [1, 2, 4, 8]


@pytest.mark.parametrize("case_id", list(CBOR_FILES))
def test_status_list_decodes_to_the_drafts_statuses(case_id):
    case = next(c for c in _cases() if c["id"] == case_id)
    data = _hex_file(CBOR_FILES[case_id])
    assert data.hex() == case["cbor_statuslist_hex"]  # the draft's file and the restatement agree
    lst, aggregation = StatusList.from_value(cbor.decode(data))
    assert (lst.bits, len(lst), aggregation) == (case["bits"], case["entries_after_decompression"], None)
    assert _nonzero(lst) == {int(k): v for k, v in case["expected_nonzero_statuses"].items()}
    with pytest.raises(StatusIndexError):  # the draft: an index out of bounds is rejected
        lst.get(len(lst))


@pytest.mark.parametrize("case_id", list(CBOR_FILES))
def test_status_list_encodes_byte_for_byte(case_id):
    data = _hex_file(CBOR_FILES[case_id])
    value = cbor.decode(data)
    lst, _ = StatusList.from_value(value)
    rebuilt = StatusList(len(lst), bits=lst.bits)
    for index, status in _nonzero(lst).items():
        rebuilt.set(index, status)
    assert rebuilt.compress() == value["lst"]  # zlib level 9, as the draft's generator
    assert cbor.encode_ordered({"bits": rebuilt.bits, "lst": rebuilt.compress()}) == data  # its map order
    assert rebuilt.to_value() == value  # edl's own encoding is the same map (length-first order)


@pytest.mark.parametrize("case_id", list(DIAG_FILES))
def test_diagnostic_listings_are_the_same_bytes(case_id):
    assert _diag_bytes(DIAG_FILES[case_id]) == _hex_file(CBOR_FILES[case_id])


@pytest.mark.parametrize("case_id", list(CBOR_FILES))
def test_json_form_carries_the_same_list(case_id):
    case = next(c for c in _cases() if c["id"] == case_id)
    value = cbor.decode(_hex_file(CBOR_FILES[case_id]))
    assert case["json_statuslist"]["bits"] == value["bits"]
    assert _b64url(case["json_statuslist"]["lst"]) == value["lst"]


def test_small_examples_raw_bytes():
    # status_list_encoding{,2}_cbor.md start with the packed byte array before compression
    for name, case_id in (
        ("status_list_encoding_cbor.md", "1bit-16"),
        ("status_list_encoding2_cbor.md", "2bit-12"),
    ):
        head = (EXAMPLES / name).read_text(encoding="utf-8").split("encoded:")[0]
        raw = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", head))
        lst, _ = StatusList.from_value(cbor.decode(_hex_file(name)))
        assert lst.to_bytes() == raw, case_id


# --- the Status List Token (CWT) -------------------------------------------------------------------


def _status_list_token() -> bytes:
    return _hex_file("status_list_cwt.md")


def test_status_list_token_decodes():
    data = _status_list_token()
    assert _diag_bytes("status_list_cwt_diag.md") == data
    want = _vectors()["tokens"]["status_list_token_cwt"]["expected"]
    token = decode_status_list(data)
    assert token.uri == want["claims"]["2"] == "https://example.com/statuslists/1"
    assert token.issued == dt.datetime.fromtimestamp(want["claims"]["6"], UTC)
    assert token.expires == dt.datetime.fromtimestamp(want["claims"]["4"], UTC)
    assert token.ttl == dt.timedelta(seconds=want["claims"]["65534"])
    assert (token.sequence, token.certificate_chain, token.bits) == (None, (), 1)
    assert token.sign1.protected == {1: -7, 16: STATUS_LIST_TYP}
    assert token.sign1.unprotected == {4: b"12"}
    assert cbor.decode(data).tag == want["cose_tag"] == 18
    assert token.status_list.compress() == bytes.fromhex(want["claims"]["65533"]["lst_hex"])
    one_bit = next(c for c in _cases() if c["id"] == "1bit-16")
    assert _nonzero(token.status_list) == {int(k): v for k, v in one_bit["expected_nonzero_statuses"].items()}


def test_status_list_token_signature_verifies_with_the_drafts_key():
    token = decode_status_list(_status_list_token())
    token.sign1.verify(_example_key())


def test_edl_refuses_the_drafts_token_as_a_city_list():
    # Not an edl URI, no x5chain, 1 bit, no sequence: a city's list must be none of these.
    city = make_city()
    with pytest.raises(StatusListError) as failure:
        verify_status_list(_status_list_token(), city_anchors=TrustAnchors([city.root]), now=NOW)
    assert failure.value.code == "status_uri"


def test_referenced_token_resolves_through_the_list():
    data = _hex_file("referenced_token_cwt.md")
    assert _diag_bytes("referenced_token_cwt_diag.md") == data
    want = _vectors()["tokens"]["referenced_token_cwt"]["expected"]
    sign1 = cose.decode_sign1(data)
    sign1.verify(_example_key())
    claims = cbor.decode(sign1.payload)
    reference = StatusReference.from_value(claims[65535])  # the same Status map as the MSO's
    assert (reference.idx, reference.uri) == (0, "https://example.com/statuslists/1")
    token = decode_status_list(_status_list_token())
    assert reference.uri == token.uri
    assert token.status_list.get(reference.idx) == want["expected_status_via_status_list_cwt"] == 1


# --- the ISO mdoc IssuerAuth with a status (the draft's former §"ISO mdoc") -------------------------


def test_mdoc_issuer_auth_carries_the_status_edl_reads():
    text = (DIR / "mdoc_issuerauth_with_status_list.md").read_text(encoding="utf-8")
    hex_block = text.split("~~~ ascii-art", 1)[1].split("~~~", 1)[0]
    data = bytes.fromhex("".join(hex_block.split()))
    want = _vectors()["tokens"]["mdoc_issuerauth"]["expected"]
    value = cbor.decode(data)
    assert isinstance(value, list) and want["untagged_cose_sign1"]
    sign1 = cose.CoseSign1.from_value(value)
    ds = load_certificate(sign1.header(cose.Header.X5CHAIN))
    assert ds.subject.rfc4514_string() == want["ds_cert_subject"]
    sign1.verify(ds.public_key())  # type: ignore[arg-type]
    mso = MobileSecurityObject.from_payload(sign1.payload)
    assert mso.status == StatusReference(idx=412, uri="https://example.com/statuslists/1")
    assert mso.doc_type == want["docType"]
