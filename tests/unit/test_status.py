"""edl.status: the packed list, URIs, signing, strict decoding, verification and its attack
table (specs/status-list.md §6), and the status signer profile (edl.x509, §4)."""

from __future__ import annotations

import datetime as dt
import time
import zlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.cose import KeySigner
from edl.errors import CertificateProfileError, EdlError, MalformedError, StatusIndexError, StatusListError
from edl.status import (
    MAX_STATUS_LIST_SIZE,
    STATUS_LIST_TYP,
    Claim,
    Status,
    StatusList,
    decode_status_list,
    parse_status_uri,
    sign_status_list,
    status_uri,
    verify_status_list,
)
from edl.trust import VerifiedTrustList, verify_trust_list
from edl.x509 import (
    DS_EKU,
    STATUS_SIGNER_EKU,
    TrustAnchors,
    certificate_der,
    check_status_signer_profile,
    make_status_signer,
)
from edltest import NOW, make_city
from statustest import (
    DAY,
    StatusSigner,
    claims_for,
    make_status_signer_for,
    publish_trust_list,
    raw_token,
    sample_list,
    token,
)

URI = "urn:edl:status:cn-qingdao:1"
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def qingdao(city):
    return make_status_signer_for(city)


@pytest.fixture(scope="module")
def guangzhou():
    """Another city of the same country, with its own root and status signer."""
    return make_status_signer_for(make_city("Guangzhou", "CN"))


@pytest.fixture(scope="module")
def anchors(city):
    return TrustAnchors([city.root])


@pytest.fixture(scope="module")
def genuine(qingdao):
    return token(qingdao)


# --- the packed list ------------------------------------------------------------------------------


def test_entries_are_packed_least_significant_bits_first():
    lst = StatusList(8)
    assert len(lst) == 8 and lst.to_bytes() == b"\x00\x00"
    lst.set(0, 1)
    lst.set(3, 2)
    lst.set(5, 3)
    # index 0 in bits 0-1, index 3 in bits 6-7 of byte 0; index 5 in bits 2-3 of byte 1
    assert lst.to_bytes() == bytes([0b10_00_00_01, 0b00_00_11_00])
    assert [lst.get(i) for i in range(8)] == [1, 0, 0, 2, 0, 3, 0, 0]
    lst.set(3, 0)
    assert lst.get(3) == 0 and lst.get(0) == 1


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_every_bits_value_round_trips(bits):
    lst = StatusList(100, bits=bits)
    assert len(lst) % (8 // bits) == 0 and len(lst) >= 100
    top = (1 << bits) - 1
    for i in range(0, 100, 7):
        lst.set(i, i % (top + 1))
    again, aggregation = StatusList.from_value(cbor.decode(cbor.encode(lst.to_value())))
    assert again == lst and again.bits == bits and aggregation is None
    assert [again.get(i) for i in range(100)] == [lst.get(i) for i in range(100)]


def test_size_rounds_up_to_whole_bytes():
    assert len(StatusList(1)) == 4 and len(StatusList(5)) == 8 and len(StatusList(5, bits=1)) == 8
    assert len(StatusList(150_000)) == 150_000


def test_compression_is_deterministic_zlib_level_9():
    one, two = sample_list(10_000), sample_list(10_000)
    assert one.compress() == two.compress() == zlib.compress(one.to_bytes(), 9)
    assert one.compress()[:2] == b"\x78\xda"  # zlib header, maximum compression


def test_an_index_outside_the_list_is_malformed():
    lst = StatusList(8)
    for index in (8, 9, 10**30, -1):
        with pytest.raises(StatusIndexError) as failure:
            lst.get(index)
        assert isinstance(failure.value, MalformedError) and failure.value.code == "status_index"
    with pytest.raises(TypeError):
        lst.get("1")  # type: ignore[arg-type]


def test_revocation_is_final_and_reinstate_only_lifts_a_suspension():
    lst = StatusList(8)
    lst.suspend(1)
    assert lst.get(1) == Status.SUSPENDED
    lst.reinstate(1)
    assert lst.get(1) == Status.VALID
    lst.revoke(2)
    for act in (lst.suspend, lst.reinstate):
        with pytest.raises(ValueError, match="final"):
            act(2)
    assert lst.get(2) == Status.REVOKED


def test_a_decoded_list_is_read_only_and_copies_are_writable():
    lst = StatusList.from_bytes(b"\x01", bits=2)
    with pytest.raises(ValueError, match="read-only"):
        lst.set(0, 0)
    copy = lst.copy()
    copy.set(0, 2)
    assert (lst.get(0), copy.get(0)) == (1, 2)


@pytest.mark.parametrize("value", [-1, 4, True, 1.0])
def test_set_refuses_values_outside_the_bits(value):
    with pytest.raises(ValueError):
        StatusList(4).set(0, value)


def test_caller_mistakes_building_a_list():
    for bad in (dict(size=0), dict(size=4, bits=3), dict(size=True)):
        with pytest.raises(ValueError):
            StatusList(**bad)  # type: ignore[arg-type]


# --- URIs --------------------------------------------------------------------------------------------


def test_status_uri_round_trips():
    assert status_uri("cn-qingdao", 1) == URI
    assert parse_status_uri(URI) == ("cn-qingdao", 1)
    assert parse_status_uri("urn:edl:status:us-md:0") == ("us-md", 0)
    assert parse_status_uri(status_uri("jp-ichikawa", 2**32 - 1)) == ("jp-ichikawa", 2**32 - 1)


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.com/statuslists/1",
        "urn:edl:status:cn-qingdao:01",  # one list, one spelling
        "urn:edl:status:CN-Qingdao:1",
        "urn:edl:status:cn-qingdao:4294967296",
        "urn:edl:status:cn-qingdao:1 ",
        "urn:edl:status:cn-qingdao",
        "",
        7,
    ],
)
def test_foreign_uris_are_refused(uri):
    with pytest.raises(StatusListError) as failure:
        parse_status_uri(uri)  # type: ignore[arg-type]
    assert failure.value.code == "status_uri"


def test_status_uri_caller_mistakes():
    for city_id, list_id in (("CN", 1), ("cn-qingdao", -1), ("cn-qingdao", 2**32)):
        with pytest.raises(ValueError):
            status_uri(city_id, list_id)
    with pytest.raises(TypeError):
        status_uri("cn-qingdao", "1")  # type: ignore[arg-type]


# --- signing -----------------------------------------------------------------------------------------


def test_round_trip(qingdao, anchors, genuine):
    verified = verify_status_list(genuine, city_anchors=anchors, now=LATER)
    assert (verified.uri, verified.city_id, verified.list_id, verified.sequence) == (URI, "cn-qingdao", 1, 1)
    assert (verified.issued, verified.expires, verified.ttl) == (NOW, NOW + 2 * DAY, None)
    assert verified.status_of(412) is Status.REVOKED
    assert verified.status_of(7) is Status.SUSPENDED
    assert verified.status_of(0) is Status.VALID and verified.status_of(999) is Status.VALID
    assert len(verified) == 1000 and verified.raw == genuine
    assert verified.signer_certificate == qingdao.der
    assert verify_status_list(genuine, city_anchors=anchors, now=LATER, uri=URI) == verified


def test_token_layout_follows_the_spec(qingdao, genuine):
    value = cbor.decode(genuine)
    assert isinstance(value, cbor.CBORTag) and value.tag == 18  # COSE_Sign1, tagged
    sign1 = cose.CoseSign1.from_value(value)
    # {1: -7, 16: "application/statuslist+cwt"}: the draft's protected header, byte for byte
    assert sign1.protected_bytes == bytes.fromhex("a2012610781a") + STATUS_LIST_TYP.encode()
    assert sign1.unprotected == {33: qingdao.der}  # one certificate: a bare byte string (RFC 9360)
    claims = cbor.decode(sign1.payload)
    assert set(claims) == {2, 4, 6, 65533, -65537}
    assert claims[-65537] == 1 and claims[2] == URI
    assert claims[65533] == {"bits": 2, "lst": sample_list().compress()}
    assert cbor.encode(claims) == sign1.payload  # deterministic CBOR
    assert list(claims) == [2, 4, 6, 65533, -65537]  # length-first key order
    assert int(Claim.SEQUENCE) < -65536  # RFC 8392 §9.1: private use


def test_ttl_and_a_two_certificate_chain(qingdao, city, anchors):
    data = sign_status_list(
        sample_list(),
        qingdao.signer,
        [qingdao.cert, city.root],
        uri=URI,
        sequence=5,
        issued=NOW,
        expires=NOW + DAY,
        ttl=dt.timedelta(hours=12),
    )
    verified = verify_status_list(data, city_anchors=anchors, now=LATER)
    assert verified.ttl == dt.timedelta(hours=12) and verified.sequence == 5
    assert decode_status_list(data).certificate_chain == (qingdao.der, certificate_der(city.root))


def test_signing_caller_mistakes(qingdao, city):
    good = dict(uri=URI, sequence=1, issued=NOW, expires=NOW + DAY)
    cases = [
        (StatusList(8, bits=1), qingdao.signer, [qingdao.cert], good),
        (sample_list(), KeySigner(city.ds_key), [qingdao.cert], good),  # another key
        (sample_list(), qingdao.signer, [], good),
        (sample_list(), qingdao.signer, [qingdao.cert] * 3, good),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "expires": NOW}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "uri": "https://example.com/1"}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "sequence": -1}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "sequence": 2**63}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "issued": NOW.replace(tzinfo=None)}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "ttl": dt.timedelta(0)}),
        (sample_list(), qingdao.signer, [qingdao.cert], {**good, "ttl": dt.timedelta(days=101 * 366)}),
    ]
    for lst, signer, chain, kwargs in cases:
        with pytest.raises(ValueError):
            sign_status_list(lst, signer, chain, **kwargs)


def test_verify_caller_mistakes(genuine, anchors, city):
    with pytest.raises(ValueError):
        verify_status_list(genuine, city_anchors=anchors, now=NOW.replace(tzinfo=None))
    with pytest.raises(TypeError):
        verify_status_list(genuine, city_anchors=[city.root], now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decode_status_list("text")  # type: ignore[arg-type]


# --- the attack table (specs/status-list.md §6) ----------------------------------------------------


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def _bomb(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes, compressed ~1000:1."""
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [z.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + z.flush()


def _revoking_anchors(city, ss):
    """The city's anchors from a trust list in which the city revoked its status signer."""
    published = publish_trust_list({"cn-qingdao": (city, "CN")}, revoked={"cn-qingdao": [ss.der]})
    verified: VerifiedTrustList = verify_trust_list(published.data, [published.root], now=NOW)
    return verified.city_anchors(verified.trust_list.cities[0])


def attack_rows(city, qingdao, guangzhou):
    """(name, token bytes, anchors or None for the city's, now, uri, expected code)."""
    ds = StatusSigner(city=city, key=city.ds_key, cert=city.ds)
    expired_signer = make_status_signer_for(city, not_before=NOW - 300 * DAY, not_after=NOW - DAY)
    bits1 = StatusList(8, bits=1)
    bomb_claims = claims_for()
    bomb_claims[65533] = {"bits": 2, "lst": _bomb(17 << 20)}
    guangzhou_list = token(guangzhou, city_id="cn-guangzhou")
    chain = [qingdao.der]
    signed = lambda claims: raw_token(qingdao.signer, chain, claims)  # noqa: E731
    revoking = _revoking_anchors(city, qingdao)
    rows = [
        ("signed by a DS key", raw_token(ds.signer, [ds.der], claims_for()), "status_signer_eku"),
        ("another city's status signer", token(guangzhou), "status_untrusted"),
        ("another city's list in its place", guangzhou_list, "status_uri_mismatch", {"uri": URI}),
        ("truncated", token(qingdao)[:-10], "status_malformed"),
        ("bit flipped (signature)", _flip(token(qingdao), -5), "status_bad_signature"),
        ("zlib bomb", signed(bomb_claims), "status_too_large"),
        ("expired", token(qingdao), "status_expired", {"now": NOW + 3 * DAY}),
        ("issued in the future", token(qingdao, issued=NOW + DAY), "status_not_yet_valid", {"now": NOW}),
        ("1 bit per licence", signed(claims_for(bits1)), "status_bits"),
        ("no exp", signed(claims_for(expires=None)), "status_unsupported"),
        ("signer revoked by its city", token(qingdao), "status_signer_revoked", {"anchors": revoking}),
        (
            "signer certificate expired",
            token(expired_signer, issued=NOW - 2 * DAY),
            "status_signer_expired",
            {"now": NOW},
        ),
        (
            "signed before its certificate",
            token(qingdao, issued=NOW - 2 * DAY),
            "status_signed_outside_certificate",
        ),
        ("not an edl URI", signed(claims_for(uri="https://example.com/1")), "status_uri"),
    ]
    out = []
    for name, data, code, *extra in rows:
        options = {"anchors": None, "now": LATER, "uri": None, **(extra[0] if extra else {})}
        out.append((name, data, options["anchors"], options["now"], options["uri"], code))
    return out


@pytest.fixture(scope="module")
def attacks(city, qingdao, guangzhou):
    return attack_rows(city, qingdao, guangzhou)


def test_every_attack_has_its_own_code(attacks):
    codes = [row[-1] for row in attacks]
    assert len(set(codes)) == len(codes)


def test_attack_table(attacks, anchors):
    failures = []
    for name, data, row_anchors, now, uri, code in attacks:
        try:
            verify_status_list(data, city_anchors=row_anchors or anchors, now=now, uri=uri)
        except StatusListError as e:
            if e.code != code:
                failures.append(f"{name}: {e.code} ({e.message}), expected {code}")
            continue
        failures.append(f"{name}: accepted")
    assert failures == []


def test_index_outside_the_list(genuine, anchors):
    verified = verify_status_list(genuine, city_anchors=anchors, now=LATER)
    with pytest.raises(StatusIndexError) as failure:
        verified.status_of(len(verified))
    assert failure.value.code == "status_index"


def test_no_sequence_is_refused(qingdao, anchors):
    data = raw_token(qingdao.signer, [qingdao.der], claims_for(sequence=None))
    with pytest.raises(StatusListError) as failure:
        verify_status_list(data, city_anchors=anchors, now=LATER)
    assert failure.value.code == "status_unsupported" and "sequence" in failure.value.message


def test_no_signer_certificate_is_untrusted(qingdao, anchors):
    data = raw_token(qingdao.signer, [], claims_for())
    with pytest.raises(StatusListError) as failure:
        verify_status_list(data, city_anchors=anchors, now=LATER)
    assert failure.value.code == "status_untrusted"


def test_the_value_3_means_nothing_for_a_licence(qingdao, anchors):
    lst = StatusList(8)
    lst.set(5, 3)
    verified = verify_status_list(token(qingdao, lst), city_anchors=anchors, now=LATER)
    with pytest.raises(StatusListError) as failure:
        verified.status_of(5)
    assert failure.value.code == "status_unsupported"


def test_the_city_root_itself_is_no_status_signer(city, anchors):
    root_signed = raw_token(KeySigner(city.root_key), [certificate_der(city.root)], claims_for())
    with pytest.raises(StatusListError) as failure:
        verify_status_list(root_signed, city_anchors=anchors, now=LATER)
    assert failure.value.code == "status_signer_eku"


def test_zlib_bomb_is_refused_fast(qingdao):
    # 64 MiB of zeros in ~64 KB: refused once the default bound (16 MiB of output) is passed.
    claims = claims_for()
    claims[65533] = {"bits": 2, "lst": _bomb(64 << 20)}
    data = raw_token(qingdao.signer, [qingdao.der], claims)
    assert len(data) < 128 << 10
    start = time.perf_counter()
    with pytest.raises(StatusListError) as failure:
        decode_status_list(data)
    assert failure.value.code == "status_too_large"
    assert time.perf_counter() - start < 2.0  # generous: about 30 ms on one idle core


def test_max_entries_bounds_what_is_decompressed(genuine):
    assert len(decode_status_list(genuine, max_entries=1000).status_list) == 1000
    with pytest.raises(StatusListError) as failure:
        decode_status_list(genuine, max_entries=996)
    assert failure.value.code == "status_too_large"


def test_oversize_token_is_refused_before_parsing():
    with pytest.raises(StatusListError) as failure:
        decode_status_list(bytes(MAX_STATUS_LIST_SIZE + 1))
    assert failure.value.code == "status_too_large"


# --- strict decoding ------------------------------------------------------------------------------


def _status_list_map(**changes):
    value = sample_list().to_value()
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


@pytest.mark.parametrize(
    ("name", "change", "code"),
    [
        (
            "trailing bytes after the zlib stream",
            {"lst": sample_list().compress() + b"\x00"},
            "status_malformed",
        ),
        ("truncated zlib stream", {"lst": sample_list().compress()[:-6]}, "status_malformed"),
        ("not zlib", {"lst": b"\x00" * 20}, "status_malformed"),
        ("raw deflate without the zlib header", {"lst": zlib.compress(b"\x00", 9)[2:-4]}, "status_malformed"),
        ("empty list", {"lst": zlib.compress(b"", 9)}, "status_malformed"),
        ("bits 3", {"bits": 3}, "status_bits"),
        ("bits true", {"bits": True}, "status_bits"),
        ("bits text", {"bits": "2"}, "status_bits"),
        ("lst text", {"lst": "eNo"}, "status_malformed"),
        ("unknown key", {"extra": 1}, "status_malformed"),
        ("no lst", {"lst": None}, "status_malformed"),
        ("aggregation_uri not text", {"aggregation_uri": 1}, "status_malformed"),
    ],
)
def test_status_list_map_is_read_strictly(qingdao, name, change, code):
    claims = claims_for()
    claims[65533] = _status_list_map(**change)
    with pytest.raises(StatusListError) as failure:
        decode_status_list(raw_token(qingdao.signer, [qingdao.der], claims))
    assert failure.value.code == code, name


def test_aggregation_uri_is_read(qingdao):
    claims = claims_for()
    claims[65533] = _status_list_map(aggregation_uri="https://example.com/lists")
    assert (
        decode_status_list(raw_token(qingdao.signer, [], claims)).aggregation_uri
        == "https://example.com/lists"
    )


def _claims_without(*keys):
    claims = claims_for()
    for k in keys:
        claims.pop(k)
    return claims


@pytest.mark.parametrize(
    ("name", "claims", "code"),
    [
        ("no sub", _claims_without(2), "status_malformed"),
        ("no iat", _claims_without(6), "status_malformed"),
        ("no status_list", _claims_without(65533), "status_malformed"),
        ("sub not text", {**claims_for(), 2: b"urn"}, "status_malformed"),
        ("iat text", {**claims_for(), 6: "2026-06-01"}, "status_malformed"),
        ("iat negative", {**claims_for(), 6: -1}, "status_malformed"),
        ("iat after the year 9999", {**claims_for(), 6: 2**40}, "status_malformed"),
        ("exp before iat", {**claims_for(), 4: int(NOW.timestamp()) - 1}, "status_malformed"),
        ("sequence negative", {**claims_for(), -65537: -1}, "status_malformed"),
        ("sequence huge", {**claims_for(), -65537: 2**64}, "status_malformed"),
        ("ttl text", {**claims_for(), 65534: "12h"}, "status_malformed"),
        ("ttl beyond datetime's range", {**claims_for(), 65534: 10**14}, "status_malformed"),
        ("ttl of more than 100 years", {**claims_for(), 65534: 101 * 366 * 86400}, "status_malformed"),
        ("float claim key 2.0", {**_claims_without(2), 2.0: URI}, "status_malformed"),
        ("claims an array", [1, 2], "status_malformed"),
    ],
)
def test_claims_are_read_strictly(qingdao, name, claims, code):
    with pytest.raises(StatusListError) as failure:
        decode_status_list(raw_token(qingdao.signer, [qingdao.der], claims))
    assert failure.value.code == code, name


def test_envelope_is_read_strictly(qingdao, city, genuine):
    signer, chain = qingdao.signer, [qingdao.der]
    sign1 = cose.CoseSign1.from_value(cbor.decode(genuine))

    def envelope(unprotected, payload):
        return cbor.encode(cbor.CBORTag(18, [sign1.protected_bytes, unprotected, payload, sign1.signature]))

    root_der = certificate_der(city.root)
    cases = {
        "no typ": raw_token(signer, chain, claims_for(), typ=None),
        "a JWT typ": raw_token(signer, chain, claims_for(), typ="application/statuslist+jwt"),
        "typ as a number": raw_token(signer, chain, claims_for(), typ=16),
        "claims not CBOR": raw_token(signer, chain, None, payload=b"\xff"),
        "claims with trailing bytes": raw_token(
            signer, chain, None, payload=cbor.encode(claims_for()) + b"\0"
        ),
        "CWT tag 61 around it": cbor.encode(cbor.CBORTag(61, cbor.decode(genuine))),
        "detached claims": envelope({33: qingdao.der}, None),
        "three certificates": raw_token(signer, [qingdao.der, root_der, qingdao.der], claims_for()),
        "x5chain of text": envelope({33: "cert"}, sign1.payload),
        "trailing bytes": genuine + b"\x00",
        "empty": b"",
    }
    for name, data in cases.items():
        with pytest.raises(StatusListError) as failure:
            decode_status_list(data)
        assert failure.value.code == "status_malformed", name


def test_an_algorithm_outside_the_allowlist_is_unsupported(genuine):
    sign1 = cose.CoseSign1.from_value(cbor.decode(genuine))
    protected = cbor.encode({1: -257, 16: STATUS_LIST_TYP})  # RS256
    data = cbor.encode(cbor.CBORTag(18, [protected, dict(sign1.unprotected), sign1.payload, sign1.signature]))
    with pytest.raises(StatusListError) as failure:
        decode_status_list(data)
    assert failure.value.code == "status_unsupported"


def test_unknown_claims_are_kept_not_read(qingdao):
    claims = {**claims_for(), 1: "https://qingdao.example", "note": "x"}
    token_ = decode_status_list(raw_token(qingdao.signer, [], claims))
    assert dict(token_.extra_claims) == {1: "https://qingdao.example", "note": "x"}


def test_every_byte_flip_is_refused(genuine, anchors):
    accepted = []
    for at in range(len(genuine)):
        try:
            verify_status_list(_flip(genuine, at), city_anchors=anchors, now=LATER)
        except EdlError:
            continue
        accepted.append(at)
    assert accepted == []


# --- the status signer profile (edl.x509) ---------------------------------------------------------


def _leaf(city, *, eku=(STATUS_SIGNER_EKU,), key_usage="sign", ca=False, days=400, country="CN"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(x509.oid.NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "leaf"),
        ]
    )
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(city.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW - DAY + days * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=True)
    if key_usage is not None:
        usage = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        usage["digital_signature"] = True
        if key_usage == "ca":
            usage["key_cert_sign"] = True
        if key_usage == "agreement":
            usage["key_agreement"] = True
        b = b.add_extension(x509.KeyUsage(**usage), critical=True)
    return b.sign(city.root_key, hashes.SHA256())


@pytest.mark.parametrize(
    ("name", "kwargs", "code"),
    [
        ("no EKU", {"eku": None}, "status_signer_eku"),
        ("the DS EKU", {"eku": (DS_EKU,)}, "status_signer_eku"),
        ("status and DS EKUs", {"eku": (STATUS_SIGNER_EKU, DS_EKU)}, "status_signer_eku"),
        ("no key usage", {"key_usage": None}, "status_signer_key_usage"),
        ("keyCertSign too", {"key_usage": "ca"}, "status_signer_key_usage"),
        ("keyAgreement too", {"key_usage": "agreement"}, "status_signer_key_usage"),
        ("a CA", {"ca": True}, "status_signer_is_ca"),
        ("500 days", {"days": 500}, "status_signer_validity_period"),
        ("another country", {"country": "JP"}, "status_signer_country"),
    ],
)
def test_status_signer_profile(city, name, kwargs, code):
    with pytest.raises(CertificateProfileError) as failure:
        check_status_signer_profile(_leaf(city, **kwargs), city.root)
    assert failure.value.code == code, name


def test_profile_breaches_refuse_the_list(city, anchors):
    claims = claims_for()
    leaf_key_cert = _leaf(city, days=500)  # only the profile is wrong; signed with another key
    with pytest.raises(StatusListError) as failure:
        verify_status_list(
            raw_token(KeySigner(city.ds_key), [certificate_der(leaf_key_cert)], claims),
            city_anchors=anchors,
            now=LATER,
        )
    assert failure.value.code == "status_signer_validity_period"  # the profile comes before the signature


def test_make_status_signer_fits_the_profile(city, qingdao):
    check_status_signer_profile(qingdao.cert, city.root)
    check_status_signer_profile(_leaf(city), city.root)
    eku = qingdao.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [STATUS_SIGNER_EKU]
    assert STATUS_SIGNER_EKU.dotted_string.startswith("2.25.")  # a UUID OID: no registration needed
    with pytest.raises(ValueError):
        make_status_signer(
            city.root_key,
            city.root,
            qingdao.key.public_key(),
            common_name="x",
            not_before=NOW,
            not_after=NOW + 458 * DAY,
        )
