"""The real AAMVA VICAL (ISO/IEC 18013-5 Annex C), 2025-11-18 production snapshot, through edl.vical.

Provenance: tests/data/vectors/PROVENANCE.md and vical/README.md. The list is current only between
its `date` (2025-11-18T18:38:12Z) and `nextUpdate` (2025-11-19T18:38:12Z), so the happy path runs
at 2025-11-19T00:00Z with AAMVA's DTS root trusted. Counts and names below were read from the file.
A few synthetic VICALs (our own root and signer) cover what the real one cannot: a signer without
the VICAL EKU, a list without nextUpdate, a country that contradicts its certificate.
"""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from edl import cbor, cose
from edl.errors import (
    CertificateProfileError,
    EdlError,
    MalformedError,
    SignatureError,
    TrustListExpiredError,
    UnsupportedError,
    UntrustedIssuerError,
)
from edl.vical import MAX_VICAL_SIZE, VICAL_SIGNER_EKU, Vical, load_vical, vical_city_entries
from edl.x509 import make_iaca
from edltest import VECTORS

VICAL_DIR = VECTORS / "vical"
VICAL_FILE = VICAL_DIR / "aamva-vical-2025-11-18-1763491092481.cbor"
UTC = dt.UTC
INSIDE = dt.datetime(2025, 11, 19, 0, 0, tzinfo=UTC)
DATE = dt.datetime(2025, 11, 18, 18, 38, 12, tzinfo=UTC)
NEXT_UPDATE = dt.datetime(2025, 11, 19, 18, 38, 12, tzinfo=UTC)
MDL = "org.iso.18013.5.1.mDL"
SIGNATURE_SIZE = 64  # ES256 r||s, the last element of the COSE_Sign1 array


def _pem(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((VICAL_DIR / name).read_bytes())


@pytest.fixture(scope="module")
def data() -> bytes:
    return VICAL_FILE.read_bytes()


@pytest.fixture(scope="module")
def root() -> x509.Certificate:
    return _pem("aamva_ca_root.crt")


@pytest.fixture(scope="module")
def vical(data: bytes, root: x509.Certificate) -> Vical:
    return load_vical(data, trusted_roots=[root], now=INSIDE)


def _flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[offset] ^= 1 << bit
    return bytes(out)


# --- the real file, as published ------------------------------------------------------------------


def test_loads_inside_its_window_with_the_aamva_root(vical: Vical, data: bytes) -> None:
    assert vical.provider == "AAMVA"
    assert vical.version == "1.0"
    assert vical.issue_id == 227602
    assert vical.date == DATE
    assert vical.next_update == NEXT_UPDATE
    assert len(vical.entries) == 14
    assert all(e.doc_types == (MDL,) for e in vical.entries)
    assert all(e.issuing_country == "US" for e in vical.entries)
    assert collections.Counter(e.state for e in vical.entries) == {
        "US-AZ": 3,
        "US-MD": 2,
        "US-UT": 2,
        "US-VA": 2,
        "US-CO": 1,
        "US-GA": 1,
        "US-ND": 1,
        "US-MT": 1,
        "AK": 1,  # written without its country, unlike the others
    }
    assert vical.entries[6].issuing_authority == "c=US,st=AK,o=Alaska DMV,cn=Alaska DMV IACA"
    assert vical.entries[2].issuing_authority == "c=US,st=US-VA,cn=VA mID IACA"
    # the signed bytes are kept, and the signer is x5chain[0]
    assert vical.payload in data
    assert (
        x509.load_der_x509_certificate(vical.signer)
        .subject.rfc4514_string()
        .startswith("CN=AAMVA Prod Vical-Signer-01")
    )


def test_keeps_unknown_and_miscased_keys(vical: Vical) -> None:
    assert all(e.extras["Extensions"] == {} for e in vical.entries)
    virginia_a = vical.entries[3]
    assert virginia_a.extras["CertificateProfile"] == ["https://dmv.virginia.gov"]
    assert virginia_a.certificate_profiles == ()  # only the spec's spelling is interpreted
    assert {"issuer", "subject", "notBefore", "notAfter"} <= virginia_a.extras.keys()


def test_roots_by_country(vical: Vical) -> None:
    roots = vical.roots_by_country()
    assert list(roots) == ["US"]
    assert roots["US"] == [e.certificate for e in vical.entries]  # 14 distinct roots, list order
    assert vical.roots_by_country(doc_type="org.iso.23220.photoid.1") == {}


def test_city_entries_group_roots_by_state(vical: Vical) -> None:
    entries = vical_city_entries(vical)
    by_id = {e["id"]: e for e in entries}
    assert [e["id"] for e in entries] == [
        "US-MD",
        "US-UT",
        "US-VA",
        "US-CO",
        "US-GA",
        "US-AK",
        "US-ND",
        "US-AZ",
        "US-MT",
    ]
    assert {i: len(e["roots"]) for i, e in by_id.items()} == {
        "US-MD": 2,
        "US-UT": 2,
        "US-VA": 2,
        "US-CO": 1,
        "US-GA": 1,
        "US-AK": 1,
        "US-ND": 1,
        "US-AZ": 3,
        "US-MT": 1,
    }
    assert all(e["country"] == "US" for e in entries)
    assert sum(len(e["roots"]) for e in entries) == 14
    # one issuing authority for both Utah roots; Maryland lists two differently named roots
    assert by_id["US-UT"]["name"] == "c=US,st=US-UT,o=Utah DLD,cn=IACA-UTAH-USA"
    assert by_id["US-MD"]["name"] == "US-MD"
    assert by_id["US-AK"]["name"] == "c=US,st=AK,o=Alaska DMV,cn=Alaska DMV IACA"
    assert all(isinstance(r, bytes) for e in entries for r in e["roots"])


def test_tagged_cose_sign1_loads_too(data: bytes, root: x509.Certificate) -> None:
    assert data[0] == 0x84  # published untagged
    tagged = load_vical(b"\xd2" + data, trusted_roots=[root], now=INSIDE)
    assert len(tagged.entries) == 14


def test_issuing_ca_as_trust_anchor(data: bytes) -> None:
    vical = load_vical(data, trusted_roots=[_pem("aamva_ca_intermediate.crt")], now=INSIDE)
    assert vical.issue_id == 227602


# --- time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(DATE - dt.timedelta(seconds=1), id="before-date"),
        pytest.param(NEXT_UPDATE, id="at-next-update"),
        pytest.param(dt.datetime(2025, 12, 1, tzinfo=UTC), id="after-next-update"),
        pytest.param(dt.datetime(2026, 4, 19, tzinfo=UTC), id="signer-certificate-expired"),
        pytest.param(dt.datetime(2023, 3, 1, tzinfo=UTC), id="before-the-chain-existed"),
    ],
)
def test_outside_its_window_is_expired(data: bytes, root: x509.Certificate, now: dt.datetime) -> None:
    with pytest.raises(TrustListExpiredError) as e:
        load_vical(data, trusted_roots=[root], now=now)
    assert e.value.code == "trust_expired"


def test_first_second_of_the_window_is_current(data: bytes, root: x509.Certificate) -> None:
    assert load_vical(data, trusted_roots=[root], now=DATE).date == DATE


def test_naive_now_is_a_caller_mistake(data: bytes, root: x509.Certificate) -> None:
    with pytest.raises(ValueError):
        load_vical(data, trusted_roots=[root], now=INSIDE.replace(tzinfo=None))


# --- trust -----------------------------------------------------------------------------------------


def test_unrelated_root_is_untrusted(data: bytes) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other = make_iaca(
        key,
        common_name="Unrelated IACA",
        country="US",
        not_before=dt.datetime(2025, 1, 1, tzinfo=UTC),
        not_after=dt.datetime(2030, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(UntrustedIssuerError):
        load_vical(data, trusted_roots=[other], now=INSIDE)


def test_listed_iaca_is_not_a_vical_trust_anchor(data: bytes, vical: Vical) -> None:
    maryland = x509.load_der_x509_certificate(vical.entries[0].certificate)
    with pytest.raises(UntrustedIssuerError):
        load_vical(data, trusted_roots=[maryland], now=INSIDE)


def test_pinning_the_signer_certificate_is_refused(data: bytes, vical: Vical) -> None:
    signer = x509.load_der_x509_certificate(vical.signer)
    with pytest.raises(UntrustedIssuerError):
        load_vical(data, trusted_roots=[signer], now=INSIDE)


def test_no_trusted_roots_is_a_caller_mistake(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_vical(data, trusted_roots=[], now=INSIDE)


# --- tampering and damage ----------------------------------------------------------------------------


@pytest.mark.parametrize("back", [1, 20, 33, 64])
def test_flipped_bit_in_signature(data: bytes, root: x509.Certificate, back: int) -> None:
    with pytest.raises(SignatureError):
        load_vical(_flip(data, len(data) - back), trusted_roots=[root], now=INSIDE)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.25, 0.5, 0.75, 0.99])
def test_flipped_bit_in_payload(data: bytes, root: x509.Certificate, vical: Vical, fraction: float) -> None:
    start = data.index(vical.payload)
    offset = start + int(fraction * (len(vical.payload) - 1))
    # The payload is signed and checked before it is parsed: every flip inside it is a bad signature.
    with pytest.raises(SignatureError):
        load_vical(_flip(data, offset, 3), trusted_roots=[root], now=INSIDE)


def test_flipped_bit_in_provider_name(data: bytes, root: x509.Certificate) -> None:
    offset = data.index(b"eAAMVA") + 1  # still valid text: "@AMVA"
    with pytest.raises(SignatureError):
        load_vical(_flip(data, offset), trusted_roots=[root], now=INSIDE)


def test_algorithm_swapped_in_protected_header(data: bytes, root: x509.Certificate) -> None:
    assert data[1:5] == bytes.fromhex("43a10126")
    # {1: -7} -> {1: -8}: EdDSA claimed for a P-256 key; the key decides the algorithm.
    with pytest.raises(UnsupportedError):
        load_vical(_flip(data, 4), trusted_roots=[root], now=INSIDE)


def test_trailing_byte_is_malformed(data: bytes, root: x509.Certificate) -> None:
    with pytest.raises(MalformedError):
        load_vical(data + b"\x00", trusted_roots=[root], now=INSIDE)


def test_truncated_is_malformed(data: bytes, root: x509.Certificate) -> None:
    with pytest.raises(MalformedError):
        load_vical(data[:-1], trusted_roots=[root], now=INSIDE)


def test_oversize_is_malformed(root: x509.Certificate) -> None:
    with pytest.raises(MalformedError):
        load_vical(b"\x00" * (MAX_VICAL_SIZE + 1), trusted_roots=[root], now=INSIDE)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_raise_only_edl_errors(junk: bytes) -> None:
    root = _pem("aamva_ca_root.crt")
    with pytest.raises(EdlError):
        load_vical(junk, trusted_roots=[root], now=INSIDE)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_bit_flip_fails_cleanly_or_leaves_the_signed_content_intact(draw: st.DataObject) -> None:
    original = VICAL_FILE.read_bytes()
    root = _pem("aamva_ca_root.crt")
    offset = draw.draw(st.integers(0, len(original) - 1))
    bit = draw.draw(st.integers(0, 7))
    # The unprotected header (x5chain) is not signed: a flip in the copy of the root there may go
    # unnoticed, but then the signed payload is exactly what AAMVA signed.
    try:
        loaded = load_vical(_flip(original, offset, bit), trusted_roots=[root], now=INSIDE)
    except EdlError:
        return
    assert loaded.payload in original


# --- synthetic VICALs: what the real one cannot show --------------------------------------------------

T0 = dt.datetime(2025, 1, 1, tzinfo=UTC)


def _signer_cert(root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate, *, eku: bool) -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Test VICAL signer")]))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=365))
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([VICAL_SIGNER_EKU]), critical=True)
    return key, builder.sign(root_key, hashes.SHA256())


def _iaca(country: str = "US") -> x509.Certificate:
    return make_iaca(
        ec.generate_private_key(ec.SECP256R1()),
        common_name="Test DMV IACA",
        country=country,
        not_before=T0,
        not_after=T0 + dt.timedelta(days=3650),
    )


def _entry(iaca: x509.Certificate, **fields: object) -> dict:
    entry = {
        "certificate": iaca.public_bytes(serialization.Encoding.DER),
        "serialNumber": iaca.serial_number,
        "ski": b"\x01" * 20,
        "docType": [MDL],
        "issuingCountry": "US",
        "stateOrProvinceName": "US-TX",
        "issuingAuthority": "Texas DPS",
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def _synthetic(entries: list[dict], *, eku: bool = True, **top: object) -> tuple[bytes, x509.Certificate]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_iaca(
        root_key,
        common_name="Test VICAL root",
        country="US",
        not_before=T0,
        not_after=T0 + dt.timedelta(3650),
    )
    signer_key, signer = _signer_cert(root_key, root, eku=eku)
    body = {
        "version": "1.0",
        "vicalProvider": "Test",
        "date": cbor.tdate(T0 + dt.timedelta(days=1)),
        "vicalIssueID": 7,
        "nextUpdate": cbor.tdate(T0 + dt.timedelta(days=30)),
        "certificateInfos": entries,
    }
    body.update(top)
    body = {k: v for k, v in body.items() if v is not None}
    chain = [c.public_bytes(serialization.Encoding.DER) for c in (signer, root)]
    message = cose.sign1(cose.KeySigner(signer_key), cbor.encode(body), unprotected={33: chain})
    return message, root


SYNTHETIC_NOW = T0 + dt.timedelta(days=2)


def test_synthetic_vical_loads_and_keeps_top_level_extras() -> None:
    texas = _iaca()
    data, root = _synthetic(
        [_entry(texas), _entry(_iaca(), docType=["org.iso.23220.photoid.1"])],
        vicalURL="https://example.test/v",
    )
    vical = load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)
    assert vical.extras == {"vicalURL": "https://example.test/v"}
    assert len(vical.entries) == 2
    assert len(vical.roots_by_country()["US"]) == 1  # the photo-ID root does not vouch for mDLs
    assert len(vical.roots_by_country(doc_type=None)["US"]) == 2
    assert vical_city_entries(vical) == [
        {"id": "US-TX", "name": "Texas DPS", "country": "US", "roots": [vical.entries[0].certificate]}
    ]


def test_without_state_the_authority_names_the_entry() -> None:
    data, root = _synthetic([_entry(_iaca(), stateOrProvinceName=None)])
    vical = load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)
    assert vical_city_entries(vical)[0]["id"] == "US-texas-dps"


def test_signer_without_vical_eku_is_refused() -> None:
    data, root = _synthetic([_entry(_iaca())], eku=False)
    with pytest.raises(CertificateProfileError):
        load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)


def test_vical_without_next_update_is_refused() -> None:
    data, root = _synthetic([_entry(_iaca())], nextUpdate=None)
    with pytest.raises(UnsupportedError):
        load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)


def test_country_contradicting_the_certificate_is_malformed() -> None:
    data, root = _synthetic([_entry(_iaca("CA"))])
    with pytest.raises(MalformedError):
        load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"docType": []}, id="empty-docType"),
        pytest.param({"certificate": b"\x30\x00"}, id="not-a-certificate"),
        pytest.param({"serialNumber": -1}, id="negative-serial"),
        pytest.param({"issuingCountry": "usa"}, id="bad-country"),
    ],
)
def test_malformed_entries(fields: dict) -> None:
    data, root = _synthetic([_entry(_iaca(), **fields)])
    with pytest.raises(MalformedError):
        load_vical(data, trusted_roots=[root], now=SYNTHETIC_NOW)
