"""edl.cose: COSE_Sign1 / COSE_Mac0 / COSE_Key, and the policy that is stricter than RFC 9052."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from edl import cbor
from edl.cose import (
    Algorithm,
    CoseSign1,
    Curve,
    Header,
    KeyParam,
    KeySigner,
    KeyType,
    PrivateKey,
    Signer,
    _sig_structure,
    algorithm_for_key,
    decode_mac0,
    decode_sign1,
    key_from_cose,
    key_to_cose,
    mac0,
    sign1,
)
from edl.errors import EdlError, MalformedError, SignatureError, UnsupportedError

KEY_MAKERS: dict[str, tuple[Callable[[], PrivateKey], Algorithm]] = {
    "p256": (lambda: ec.generate_private_key(ec.SECP256R1()), Algorithm.ES256),
    "p384": (lambda: ec.generate_private_key(ec.SECP384R1()), Algorithm.ES384),
    "p521": (lambda: ec.generate_private_key(ec.SECP521R1()), Algorithm.ES512),
    "ed25519": (ed25519.Ed25519PrivateKey.generate, Algorithm.EDDSA),
    "ed448": (ed448.Ed448PrivateKey.generate, Algorithm.EDDSA),
}
EC_CURVES = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {name: make() for name, (make, _alg) in KEY_MAKERS.items()}


@pytest.fixture(params=list(KEY_MAKERS))
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def key(keys: dict[str, PrivateKey], kind: str) -> PrivateKey:
    return keys[kind]


# --- Sign1 round trips --------------------------------------------------------------------


def test_round_trip(key: PrivateKey, kind: str) -> None:
    signer = KeySigner(key)
    assert isinstance(signer, Signer)
    assert signer.algorithm is KEY_MAKERS[kind][1]
    encoded = sign1(signer, b"payload", unprotected={Header.KID: b"k1"})

    msg = decode_sign1(encoded)
    assert isinstance(msg, CoseSign1)
    assert msg.algorithm is signer.algorithm
    assert msg.protected_bytes == cbor.encode({1: int(signer.algorithm)})
    assert msg.unprotected == {Header.KID: b"k1"}
    assert msg.header(Header.KID) == b"k1"
    assert msg.header(Header.ALG) == int(signer.algorithm)
    assert msg.verify(key.public_key()) is msg
    assert msg.payload == b"payload"


def test_round_trip_through_cose_key(key: PrivateKey) -> None:
    public = key_from_cose(cbor.decode(cbor.encode(key_to_cose(key.public_key()))))
    decode_sign1(sign1(KeySigner(key), b"x")).verify(public)


def test_other_key_of_same_kind_fails(key: PrivateKey, kind: str) -> None:
    other = KEY_MAKERS[kind][0]()
    msg = decode_sign1(sign1(KeySigner(key), b"payload"))
    with pytest.raises(SignatureError):
        msg.verify(other.public_key())


def test_empty_payload(key: PrivateKey) -> None:
    assert decode_sign1(sign1(KeySigner(key), b"")).verify(key.public_key()).payload == b""


def test_extra_protected_header_is_signed(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    msg = decode_sign1(sign1(KeySigner(key), b"x", protected={Header.CONTENT_TYPE: 0}))
    assert msg.protected == {Header.ALG: -7, Header.CONTENT_TYPE: 0}
    assert msg.protected_bytes == bytes.fromhex("a201260300")
    msg.verify(key.public_key())


def test_signer_cannot_be_overridden_by_headers(keys: dict[str, PrivateKey]) -> None:
    signer = KeySigner(keys["p256"])
    with pytest.raises(ValueError, match="alg"):
        sign1(signer, b"x", protected={Header.ALG: int(Algorithm.ES384)})
    with pytest.raises(ValueError, match="alg"):
        sign1(signer, b"x", unprotected={Header.ALG: int(Algorithm.ES256)})


# --- detached payload and external AAD ----------------------------------------------------


def test_detached_payload(key: PrivateKey) -> None:
    msg = decode_sign1(sign1(KeySigner(key), b"content", detached=True))
    assert msg.payload is None
    msg.verify(key.public_key(), detached_payload=b"content")
    with pytest.raises(SignatureError):
        msg.verify(key.public_key(), detached_payload=b"Content")
    with pytest.raises(MalformedError, match="detached"):
        msg.verify(key.public_key())


def test_detached_payload_for_attached_message_is_refused(keys: dict[str, PrivateKey]) -> None:
    key = keys["ed25519"]
    msg = decode_sign1(sign1(KeySigner(key), b"content"))
    with pytest.raises(MalformedError, match="attached"):
        msg.verify(key.public_key(), detached_payload=b"content")


def test_external_aad(key: PrivateKey) -> None:
    aad = b"session transcript"
    msg = decode_sign1(sign1(KeySigner(key), b"content", external_aad=aad))
    msg.verify(key.public_key(), external_aad=aad)
    with pytest.raises(SignatureError):
        msg.verify(key.public_key())
    with pytest.raises(SignatureError):
        msg.verify(key.public_key(), external_aad=b"another transcript")


def test_detached_with_external_aad(keys: dict[str, PrivateKey]) -> None:
    key = keys["p256"]
    msg = decode_sign1(sign1(KeySigner(key), b"c", detached=True, external_aad=b"aad"))
    msg.verify(key.public_key(), detached_payload=b"c", external_aad=b"aad")
    with pytest.raises(SignatureError):
        msg.verify(key.public_key(), detached_payload=b"c")


def test_sig_structure_layout() -> None:
    msg = decode_sign1(sign1(KeySigner(ed25519.Ed25519PrivateKey.generate()), b"p"))
    tbs = msg.to_be_signed(external_aad=b"a")
    assert tbs == cbor.encode(["Signature1", msg.protected_bytes, b"a", b"p"])


@pytest.mark.parametrize("sizes", [(0, 0, 0), (1, 0, 23), (24, 1, 255), (3, 256, 65536), (23, 24, 0)])
def test_sig_structure_is_the_encoding_of_its_array_for_every_length(sizes: tuple[int, int, int]) -> None:
    # the framing is unrolled by hand (empty aad the usual case): every head size, held to cbor2
    protected, aad, payload = (bytes([i % 251]) * n for i, n in enumerate(sizes, 1))
    tbs = _sig_structure(protected, aad, payload)
    assert tbs == cbor.encode(["Signature1", protected, aad, payload])


# --- tagged / untagged --------------------------------------------------------------------


def test_tagged_and_untagged(keys: dict[str, PrivateKey]) -> None:
    key = keys["ed25519"]  # deterministic, so the two encodings can be compared
    untagged = sign1(KeySigner(key), b"x", unprotected={Header.KID: b"k"})
    tagged = sign1(KeySigner(key), b"x", unprotected={Header.KID: b"k"}, tagged=True)
    assert untagged[:1] == b"\x84"
    assert tagged == b"\xd2" + untagged
    for encoded in (tagged, untagged):
        msg = decode_sign1(encoded).verify(key.public_key())
        assert msg.unprotected == {Header.KID: b"k"}
        assert type(msg.unprotected) is dict


def test_wrong_tag_is_malformed(keys: dict[str, PrivateKey]) -> None:
    untagged = sign1(KeySigner(keys["ed25519"]), b"x")
    for tag in (b"\xd1", b"\xd8\x62", b"\xd9\x03\xe6"):  # 17 (Mac0), 98 (Sign), 998
        with pytest.raises(MalformedError, match="tag"):
            decode_sign1(tag + untagged)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([b"\xa1\x01\x26", {}, b"x"], id="three-elements"),
        pytest.param([b"\xa1\x01\x26", {}, b"x", b"s", b""], id="five-elements"),
        pytest.param({1: 2}, id="map"),
        pytest.param([{1: -7}, {}, b"x", b"s"], id="protected-not-bstr"),
        pytest.param([b"\xa1\x01\x26", [], b"x", b"s"], id="unprotected-not-map"),
        pytest.param([b"\x80", {}, b"x", b"s"], id="protected-not-map"),
        pytest.param([b"\xa1\x01\x26\x00", {}, b"x", b"s"], id="protected-trailing-bytes"),
        pytest.param([b"\xa1\x01\x26", {}, "x", b"s"], id="payload-text"),
        pytest.param([b"\xa1\x01\x26", {}, b"x", None], id="signature-nil"),
        pytest.param([b"\xa1\x01\x26", {True: 1}, b"x", b"s"], id="bool-label"),
        pytest.param([b"\xa1\x01\x26", {1.5: 1}, b"x", b"s"], id="float-label"),
        pytest.param([b"\xa2\x01\x26\x02\x80", {}, b"x", b"s"], id="crit-empty"),
        pytest.param([b"\xa2\x01\x26\x02\x01", {}, b"x", b"s"], id="crit-not-array"),
        pytest.param([b"\xa2\x01\x26\x02\x81\x81\x01", {}, b"x", b"s"], id="crit-label-array"),
        pytest.param([b"\xa2\x01\x26\x02\x81\xa0", {}, b"x", b"s"], id="crit-label-map"),
        pytest.param([b"\xa2\x01\x26\x04\x41k", {4: b"k"}, b"x", b"s"], id="label-in-both-buckets"),
    ],
)
def test_malformed_structure(body: Any) -> None:
    with pytest.raises(MalformedError):
        decode_sign1(cbor.encode(body))


def test_header_in_both_buckets_via_sign1(keys: dict[str, PrivateKey]) -> None:
    encoded = sign1(
        KeySigner(keys["p256"]), b"x", protected={Header.KID: b"a"}, unprotected={Header.KID: b"a"}
    )
    with pytest.raises(MalformedError, match="both buckets"):
        decode_sign1(encoded)


# --- algorithm policy ---------------------------------------------------------------------


def test_es256_message_with_p384_key_is_unsupported(keys: dict[str, PrivateKey]) -> None:
    msg = decode_sign1(sign1(KeySigner(keys["p256"]), b"x"))
    assert msg.algorithm is Algorithm.ES256
    with pytest.raises(UnsupportedError, match="ES256"):
        msg.verify(keys["p384"].public_key())


@pytest.mark.parametrize(
    ("signer_kind", "verifier_kind"),
    [
        ("p256", "ed25519"),
        ("ed25519", "p256"),
        ("p521", "p256"),
        ("p384", "p521"),
        ("ed448", "p384"),
    ],
)
def test_algorithm_never_crosses_key_types(
    keys: dict[str, PrivateKey], signer_kind: str, verifier_kind: str
) -> None:
    msg = decode_sign1(sign1(KeySigner(keys[signer_kind]), b"x"))
    with pytest.raises(UnsupportedError):
        msg.verify(keys[verifier_kind].public_key())


def test_eddsa_works_for_both_edwards_curves(keys: dict[str, PrivateKey]) -> None:
    msg = decode_sign1(sign1(KeySigner(keys["ed25519"]), b"x"))
    with pytest.raises(SignatureError):  # same alg (EdDSA), other curve: just a wrong key
        msg.verify(keys["ed448"].public_key())


def test_curve_outside_allowlist() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(UnsupportedError, match="secp256k1"):
        KeySigner(key)
    with pytest.raises(UnsupportedError):
        algorithm_for_key(key.public_key())
    with pytest.raises(UnsupportedError):
        key_to_cose(key.public_key())


@pytest.mark.parametrize(
    ("protected", "unprotected", "words"),
    [
        pytest.param(b"", {1: -7}, "protected header", id="alg-only-unprotected"),
        pytest.param(b"\xa0", {1: -7}, "protected header", id="alg-unprotected-empty-map"),
        pytest.param(b"", {}, "no algorithm", id="no-alg"),
        pytest.param(b"\xa1\x01\x39\x03\xe6", {}, "-999", id="alg-unknown"),
        pytest.param(b"\xa1\x01\x67unknown", {}, "unknown", id="alg-text"),
        pytest.param(b"\xa1\x01\xf5", {}, "True", id="alg-bool"),
        pytest.param(b"\xa2\x01\x26\x02\x81\x18\x63", {}, "critical", id="unknown-crit"),
        pytest.param(b"\xa2\x01\x26\x02\x81\x01", {}, "critical", id="crit-names-alg"),
    ],
)
def test_unsupported(protected: bytes, unprotected: dict[int, Any], words: str) -> None:
    encoded = cbor.encode([protected, unprotected, b"x", b"\x00" * 64])
    with pytest.raises(UnsupportedError, match=words):
        decode_sign1(encoded)


def test_hmac_alg_in_sign1_matches_no_signature_key(keys: dict[str, PrivateKey]) -> None:
    msg = decode_sign1(cbor.encode([b"\xa1\x01\x05", {}, b"x", b"\x00" * 32]))
    for key in keys.values():
        with pytest.raises(UnsupportedError, match="HMAC_256_256"):
            msg.verify(key.public_key())


def test_unknown_crit_via_sign1(keys: dict[str, PrivateKey]) -> None:
    encoded = sign1(KeySigner(keys["p256"]), b"x", protected={Header.CRIT: [99], 99: True})
    with pytest.raises(UnsupportedError, match="critical header"):
        decode_sign1(encoded)


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_ecdsa_signature_of_wrong_length(keys: dict[str, PrivateKey], length: int) -> None:
    good = decode_sign1(sign1(KeySigner(keys["p256"]), b"x"))
    signature = good.signature[:length].ljust(length, b"\1")
    encoded = cbor.encode([good.protected_bytes, {}, b"x", signature])
    with pytest.raises(SignatureError, match="bytes"):
        decode_sign1(encoded).verify(keys["p256"].public_key())


# --- Mac0 ---------------------------------------------------------------------------------

MAC_KEY = bytes(range(32))


def test_mac0_round_trip() -> None:
    for tagged in (False, True):
        encoded = mac0(MAC_KEY, b"payload", tagged=tagged)
        assert encoded[:1] == (b"\xd1" if tagged else b"\x84")
        msg = decode_mac0(encoded)
        assert msg.algorithm is Algorithm.HMAC_256_256
        assert msg.protected_bytes == b"\xa1\x01\x05"
        assert msg.verify(MAC_KEY).payload == b"payload"


def test_mac0_detached_with_aad() -> None:
    msg = decode_mac0(mac0(MAC_KEY, b"auth", detached=True, external_aad=b"t"))
    assert msg.payload is None
    msg.verify(MAC_KEY, detached_payload=b"auth", external_aad=b"t")
    with pytest.raises(SignatureError):
        msg.verify(MAC_KEY, detached_payload=b"auth")
    with pytest.raises(MalformedError):
        msg.verify(MAC_KEY)


def test_mac0_wrong_key() -> None:
    msg = decode_mac0(mac0(MAC_KEY, b"payload"))
    with pytest.raises(SignatureError, match="MAC"):
        msg.verify(bytes(32))


def test_mac0_tampered_tag() -> None:
    body = cbor.decode(mac0(MAC_KEY, b"payload"))
    body[3] = bytes([body[3][0] ^ 1]) + body[3][1:]
    with pytest.raises(SignatureError):
        decode_mac0(cbor.encode(body)).verify(MAC_KEY)


def test_mac0_key_length_is_a_caller_mistake() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        mac0(b"short", b"x")
    msg = decode_mac0(mac0(MAC_KEY, b"x"))
    with pytest.raises(ValueError, match="32-byte"):
        msg.verify(b"short")


def test_mac0_refuses_signature_algorithms(keys: dict[str, PrivateKey]) -> None:
    with pytest.raises(UnsupportedError, match="not a MAC"):
        decode_mac0(sign1(KeySigner(keys["p256"]), b"x"))
    with pytest.raises(MalformedError, match="tag 18"):
        decode_mac0(sign1(KeySigner(keys["p256"]), b"x", tagged=True))


def test_sign1_refuses_mac0() -> None:
    with pytest.raises(MalformedError, match="tag 17"):
        decode_sign1(mac0(MAC_KEY, b"x", tagged=True))


# --- COSE_Key -----------------------------------------------------------------------------


def test_cose_key_round_trip(key: PrivateKey, kind: str) -> None:
    public = key.public_key()
    cose_key = key_to_cose(public)
    assert cose_key[KeyParam.KTY] == (KeyType.EC2 if kind in EC_CURVES else KeyType.OKP)
    assert key_from_cose(cose_key) == public
    assert key_from_cose(cbor.decode(cbor.encode(cose_key))) == public


def test_cose_key_labels() -> None:
    pub = ec.derive_private_key(7, ec.SECP256R1()).public_key()
    cose_key = key_to_cose(pub)
    assert sorted(cose_key) == [-3, -2, -1, 1]
    assert cose_key[KeyParam.CRV] == Curve.P256
    assert len(cose_key[KeyParam.X]) == len(cose_key[KeyParam.Y]) == 32


def _scalars_for_both_parities(curve: ec.EllipticCurve) -> dict[int, int]:
    """Small private scalars whose public y is even (0) and odd (1)."""
    found: dict[int, int] = {}
    scalar = 1
    while len(found) < 2:
        y = ec.derive_private_key(scalar, curve).public_key().public_numbers().y
        found.setdefault(y & 1, scalar)
        scalar += 1
    return found


@pytest.mark.parametrize("kind", list(EC_CURVES))
@pytest.mark.parametrize("parity", [0, 1], ids=["y-even", "y-odd"])
def test_cose_key_compressed_y(kind: str, parity: int) -> None:
    curve = EC_CURVES[kind]
    scalar = _scalars_for_both_parities(curve)[parity]
    public = ec.derive_private_key(scalar, curve).public_key()
    cose_key = key_to_cose(public)
    cose_key[KeyParam.Y] = bool(parity)  # RFC 9053 §7.1.1: the sign bit as a CBOR bool
    assert key_from_cose(cbor.decode(cbor.encode(cose_key))) == public
    cose_key[KeyParam.Y] = not parity  # the other sign: the other point, same x
    other = key_from_cose(cose_key)
    assert other != public
    assert other.public_numbers().x == public.public_numbers().x


# P-256 field prime and b; used to find an x with no point on the curve.
_P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1
_P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B


def _x_not_on_p256() -> int:
    x = 0
    while pow((x**3 - 3 * x + _P256_B) % _P256_P, (_P256_P - 1) // 2, _P256_P) == 1:
        x += 1
    return x


def test_cose_key_invalid_points() -> None:
    good = key_to_cose(ec.derive_private_key(7, ec.SECP256R1()).public_key())
    off_curve = dict(good)
    off_curve[KeyParam.Y] = bytes([good[KeyParam.Y][0] ^ 1]) + good[KeyParam.Y][1:]
    with pytest.raises(MalformedError, match="not a valid point"):
        key_from_cose(off_curve)

    zero = dict(good)
    zero[KeyParam.X] = zero[KeyParam.Y] = bytes(32)
    with pytest.raises(MalformedError):
        key_from_cose(zero)

    no_root = dict(good)
    no_root[KeyParam.X] = _x_not_on_p256().to_bytes(32, "big")
    no_root[KeyParam.Y] = True
    with pytest.raises(MalformedError):
        key_from_cose(no_root)


@pytest.mark.parametrize(
    "cose_key",
    [
        pytest.param({1: 2, -1: 1, -2: b"\x01" * 31, -3: b"\x01" * 32}, id="x-short"),
        pytest.param({1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x01" * 33}, id="y-long"),
        pytest.param({1: 2, -1: 1, -2: b"\x01" * 32}, id="y-missing"),
        pytest.param({1: 2, -1: 1, -2: "01" * 32, -3: b"\x01" * 32}, id="x-text"),
        pytest.param({1: 2, -1: 2, -2: b"\x01" * 32, -3: b"\x01" * 32}, id="p256-coords-as-p384"),
        pytest.param({1: 1, -1: 6, -2: b"\x01" * 31}, id="ed25519-short"),
        pytest.param({1: 1, -1: 7, -2: b"\x01" * 32}, id="ed448-short"),
        pytest.param([1, 2], id="not-a-map"),
    ],
)
def test_cose_key_malformed(cose_key: Any) -> None:
    with pytest.raises(MalformedError):
        key_from_cose(cose_key)


@pytest.mark.parametrize(
    "cose_key",
    [
        pytest.param({1: 4, -1: b"k" * 32}, id="symmetric"),
        pytest.param({1: 3, -1: 1}, id="rsa"),
        pytest.param({1: 1, -1: 4, -2: b"\x01" * 32}, id="x25519"),
        pytest.param({1: 2, -1: 8, -2: b"\x01" * 32, -3: b"\x01" * 32}, id="unknown-ec-curve"),
        pytest.param({1: 2, -1: 6, -2: b"\x01" * 32, -3: b"\x01" * 32}, id="ed25519-as-ec2"),
        pytest.param({1: 1, -1: 1, -2: b"\x01" * 32}, id="p256-as-okp"),
        pytest.param({1: "EC2", -1: 1}, id="kty-text"),
        pytest.param({1: True, -1: 6, -2: b"\x01" * 32}, id="kty-bool"),
        pytest.param({1: 2, -1: True, -2: b"\x01" * 32, -3: True}, id="crv-bool"),
        pytest.param({1: 2, -1: [1]}, id="crv-array"),
        pytest.param({1: 2, -1: {}}, id="crv-map"),
        pytest.param({}, id="empty"),
    ],
)
def test_cose_key_unsupported(cose_key: Any) -> None:
    with pytest.raises(UnsupportedError):
        key_from_cose(cose_key)


# --- no key material in repr ----------------------------------------------------------------


def test_keysigner_repr_hides_key(key: PrivateKey) -> None:
    signer = KeySigner(key)
    text = repr(signer) + str(signer)
    assert repr(signer) == f"KeySigner({signer.algorithm.name})"
    raw = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert raw.hex() not in text
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert str(key.private_numbers().private_value) not in text
    assert not hasattr(signer, "__dict__")  # nothing for vars() to dump


# --- every single-bit flip is refused -------------------------------------------------------


@pytest.mark.parametrize("kind", ["p256", "ed25519"])
@pytest.mark.parametrize("tagged", [False, True], ids=["untagged", "tagged"])
def test_every_bit_flip_is_refused(keys: dict[str, PrivateKey], kind: str, tagged: bool) -> None:
    key = keys[kind]
    # The unprotected bucket is empty on purpose: it is not signed, so flipping a bit inside
    # a header value there (a kid) would rightly still verify.
    encoded = sign1(KeySigner(key), b"licence", protected={Header.CONTENT_TYPE: 60}, tagged=tagged)
    decode_sign1(encoded).verify(key.public_key())  # the unflipped message is good
    outcomes: collections.Counter[str] = collections.Counter()
    for bit in range(len(encoded) * 8):
        flipped = bytearray(encoded)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises((MalformedError, UnsupportedError, SignatureError)) as excinfo:
            decode_sign1(bytes(flipped)).verify(key.public_key())
        outcomes[excinfo.type.__name__] += 1
    assert sum(outcomes.values()) == len(encoded) * 8
    # Not vacuous: structure flips are malformed, signature/payload flips are bad signatures.
    assert outcomes["MalformedError"] > 0
    assert outcomes["SignatureError"] > 0


# --- fuzzing: hostile bytes only raise EdlError ---------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_to_decode_sign1(data: bytes) -> None:
    with contextlib.suppress(EdlError):
        decode_sign1(data)


_values = st.recursive(
    st.integers(min_value=-(2**64), max_value=2**64)
    | st.binary(max_size=8)
    | st.text(max_size=4)
    | st.booleans()
    | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.integers(-4, 4), inner, max_size=3),
    max_leaves=8,
)
_labels = st.sampled_from([1, 2, 3, 4, 33, -1, 99, "x"]) | st.booleans()
_header_maps = st.dictionaries(_labels, _values, max_size=3)
_protected = st.one_of(
    st.binary(max_size=8),
    _header_maps.map(cbor.encode),
    st.dictionaries(st.just(1), st.sampled_from([-7, -8, -35, -36, 5, -999])).map(cbor.encode),
    _values.map(cbor.encode),
    _values,
)


@settings(max_examples=500, deadline=None)
@given(
    protected=_protected,
    unprotected=_header_maps | _values,
    payload=st.binary(max_size=8) | st.none() | _values,
    signature=st.binary(max_size=140) | _values,
    tag=st.sampled_from([None, 17, 18, 24]),
)
def test_structured_garbage_to_sign1_and_mac0(
    keys: dict[str, PrivateKey],
    protected: Any,
    unprotected: Any,
    payload: Any,
    signature: Any,
    tag: int | None,
) -> None:
    body = [protected, unprotected, payload, signature]
    data = cbor.encode(body if tag is None else cbor.CBORTag(tag, body))
    with contextlib.suppress(EdlError):
        decode_sign1(data).verify(keys["p256"].public_key(), detached_payload=None)
    with contextlib.suppress(EdlError):
        decode_sign1(data).verify(keys["ed25519"].public_key(), detached_payload=b"d")
    with contextlib.suppress(EdlError):
        decode_mac0(data).verify(MAC_KEY)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from([1, -1, -2, -3, -4, 2, 3]), _values, max_size=5) | _values)
def test_arbitrary_cose_key_raises_only_edl_error(cose_key: Any) -> None:
    with contextlib.suppress(EdlError):
        key_from_cose(cose_key)
