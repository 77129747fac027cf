"""COSE WG single-signer examples (``cose-wg/Examples``) through ``edl.cose``.

Source and licence: ``tests/data/vectors/PROVENANCE.md`` and ``cose-wg/README.md``.

Three kinds of check, byte-exact where the source gives bytes (as *python-cwt*
``tests/test_cose_wg_examples.py`` does):

1. **Verify** every example: ``decode_sign1(output.cbor).verify(JWK public key, external_aad)``
   gives the outcome in :data:`EXPECTED` below.
2. **Sig_structure**: where the example passes upstream and we accept it,
   ``to_be_signed(external_aad)`` equals ``intermediates.ToBeSign_hex``.
3. **Re-sign** with :func:`edl.cose.sign1` from the private key ``d``: our message verifies,
   has the example's Sig_structure, and is byte-identical to the example apart from the
   signature (ECDSA is randomized) — or entirely byte-identical (EdDSA is deterministic).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any, NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from edl.cose import Algorithm, Header, KeySigner, PrivateKey, PublicKey, decode_sign1, sign1
from edl.errors import EdlError, MalformedError, SignatureError, UnsupportedError
from edltest import VECTORS

DIR = VECTORS / "cose-wg"

SINGLE_SIGNER_GLOBS = (
    "ecdsa-examples/*-sig-*.json",
    "eddsa-examples/*-sig-*.json",
    "sign1-tests/*.json",
    "CWT/A_3.json",
    "RFC8152/Appendix_C_2_1.json",
)


class Expect(NamedTuple):
    upstream_pass: bool
    """What cose-wg says (``"fail": true`` in the file means False)."""
    error: type[EdlError] | None
    """None: we verify it. Otherwise the exact error we raise."""
    stage: str
    """Where the error is raised: "decode" (decode_sign1) or "verify" (CoseSign1.verify)."""
    why: str


ACCEPT = Expect(True, None, "", "")

# One row per file. Rows where upstream says pass and we refuse are our stricter policy
# (edl.cose module docstring); each says why.
EXPECTED: dict[str, Expect] = {
    "ecdsa-examples/ecdsa-sig-01.json": ACCEPT,  # ES256 / P-256, protected {alg, ctyp: 0}
    "ecdsa-examples/ecdsa-sig-02.json": ACCEPT,  # ES384 / P-384
    "ecdsa-examples/ecdsa-sig-03.json": ACCEPT,  # ES512 / P-521
    "ecdsa-examples/ecdsa-sig-04.json": Expect(
        True,
        UnsupportedError,
        "verify",
        "POLICY: alg ES512 (SHA-512) on a P-256 key. RFC 8152 only suggests the pairing; "
        "we pin it: the key decides the algorithm (ES512 only with P-521), so a message can "
        "never choose another hash for a key.",
    ),
    "eddsa-examples/eddsa-sig-01.json": ACCEPT,  # Ed25519
    "eddsa-examples/eddsa-sig-02.json": ACCEPT,  # Ed448 (supported)
    "sign1-tests/sign-pass-01.json": Expect(
        True,
        UnsupportedError,
        "decode",
        "POLICY: protected bucket is h'A0' and alg is only in the unprotected header. "
        "RFC 9052 permits that; we require alg to be integrity-protected. (Upstream also "
        "expects h'' rather than the received h'A0' in its Sig_structure; since every message "
        "we accept has alg in a non-empty protected map, that case never reaches us.)",
    ),
    "sign1-tests/sign-pass-02.json": ACCEPT,  # external AAD fed into Sig_structure
    "sign1-tests/sign-pass-03.json": ACCEPT,  # untagged (as ISO 18013-5 issuerAuth is)
    "sign1-tests/sign-fail-01.json": Expect(
        False, MalformedError, "decode", "tag 998 where 18 (or none) belongs"
    ),
    "sign1-tests/sign-fail-02.json": Expect(False, SignatureError, "verify", "content changed after signing"),
    "sign1-tests/sign-fail-03.json": Expect(
        False, UnsupportedError, "decode", "protected alg changed to -999 (not in the allowlist)"
    ),
    "sign1-tests/sign-fail-04.json": Expect(
        False, UnsupportedError, "decode", 'protected alg changed to text "unknown"'
    ),
    "sign1-tests/sign-fail-06.json": Expect(
        False, SignatureError, "verify", "protected attribute added after signing"
    ),
    "sign1-tests/sign-fail-07.json": Expect(
        False, SignatureError, "verify", "protected attribute removed after signing"
    ),
    "CWT/A_3.json": ACCEPT,  # RFC 8392 A.3 signed CWT, ES256
    "RFC8152/Appendix_C_2_1.json": ACCEPT,  # RFC 8152 C.2.1, ES256
}

ACCEPTED = [name for name, e in EXPECTED.items() if e.upstream_pass and e.error is None]

# --- reading the examples ---------------------------------------------------------------


@functools.cache
def _example(name: str) -> dict[str, Any]:
    return json.loads((DIR / name).read_text(encoding="utf-8"))


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwk_bytes(jwk: dict[str, Any], name: str) -> bytes:
    if f"{name}_hex" in jwk:
        return bytes.fromhex(jwk[f"{name}_hex"])
    return _b64url(jwk[name])


_EC_CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


def _public_key(jwk: dict[str, Any]) -> PublicKey:
    if jwk["kty"] == "EC":
        x = int.from_bytes(_jwk_bytes(jwk, "x"), "big")
        y = int.from_bytes(_jwk_bytes(jwk, "y"), "big")
        return ec.EllipticCurvePublicNumbers(x, y, _EC_CURVES[jwk["crv"]]).public_key()
    assert jwk["kty"] == "OKP"
    okp = {"Ed25519": ed25519.Ed25519PublicKey, "Ed448": ed448.Ed448PublicKey}[jwk["crv"]]
    return okp.from_public_bytes(_jwk_bytes(jwk, "x"))


def _private_key(jwk: dict[str, Any]) -> PrivateKey:
    d = _jwk_bytes(jwk, "d")
    if jwk["kty"] == "EC":
        return ec.derive_private_key(int.from_bytes(d, "big"), _EC_CURVES[jwk["crv"]])
    okp = {"Ed25519": ed25519.Ed25519PrivateKey, "Ed448": ed448.Ed448PrivateKey}[jwk["crv"]]
    return okp.from_private_bytes(d)


def _signer(ex: dict[str, Any]) -> dict[str, Any]:
    signer: dict[str, Any] = ex["input"]["sign0"]
    return signer


def _plaintext(ex: dict[str, Any]) -> bytes:
    if "plaintext_hex" in ex["input"]:
        return bytes.fromhex(ex["input"]["plaintext_hex"])
    return ex["input"]["plaintext"].encode()


def _external_aad(ex: dict[str, Any]) -> bytes:
    return bytes.fromhex(_signer(ex).get("external", ""))


def _output(ex: dict[str, Any]) -> bytes:
    return bytes.fromhex(ex["output"]["cbor"])


_ALG_NAMES = {
    "ES256": Algorithm.ES256,
    "ES384": Algorithm.ES384,
    "ES512": Algorithm.ES512,
    "EdDSA": Algorithm.EDDSA,
}


def _headers(names: dict[str, Any]) -> dict[int, Any]:
    """The example's header map (JSON names) as COSE labels; ``alg`` is left to the signer."""
    labels: dict[int, Any] = {}
    for name, value in names.items():
        if name == "alg":
            continue
        if name == "ctyp":
            labels[Header.CONTENT_TYPE] = value
        elif name == "kid":
            labels[Header.KID] = value.encode()
        else:  # pragma: no cover - a new example with another header needs a mapping here
            raise AssertionError(f"no label for header {name!r}")
    return labels


# --- the table itself -------------------------------------------------------------------


def test_table_covers_every_single_signer_file() -> None:
    on_disk = {p.relative_to(DIR).as_posix() for pattern in SINGLE_SIGNER_GLOBS for p in DIR.glob(pattern)}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_table_agrees_with_upstream(name: str) -> None:
    ex = _example(name)
    assert EXPECTED[name].upstream_pass is not ex.get("fail", False)
    assert _signer(ex)["alg"] in _ALG_NAMES


# --- 1. verify --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_verify(name: str) -> None:
    ex = _example(name)
    expect = EXPECTED[name]
    key = _public_key(_signer(ex)["key"])
    data, aad = _output(ex), _external_aad(ex)

    if expect.error is None:
        msg = decode_sign1(data).verify(key, external_aad=aad)
        assert msg.payload == _plaintext(ex)
        assert msg.algorithm is _ALG_NAMES[_signer(ex)["alg"]]
        return

    if expect.stage == "decode":
        with pytest.raises(expect.error) as excinfo:
            decode_sign1(data)
    else:
        assert expect.stage == "verify"
        msg = decode_sign1(data)
        with pytest.raises(expect.error) as excinfo:
            msg.verify(key, external_aad=aad)
    assert type(excinfo.value) is expect.error
    assert excinfo.value.message  # a sentence for a person, not an empty error


def test_external_aad_is_required_for_sign_pass_02() -> None:
    ex = _example("sign1-tests/sign-pass-02.json")
    msg = decode_sign1(_output(ex))
    with pytest.raises(SignatureError):
        msg.verify(_public_key(_signer(ex)["key"]))


def test_cwt_a3_payload_is_the_claims_set() -> None:
    from edl import cbor

    ex = _example("CWT/A_3.json")
    msg = decode_sign1(_output(ex)).verify(_public_key(_signer(ex)["key"]))
    assert msg.payload is not None
    claims = cbor.decode(msg.payload)
    assert claims[1] == "coap://as.example.com"  # iss
    assert claims[2] == "erikw"  # sub
    assert sorted(claims) == [1, 2, 3, 4, 5, 6, 7]


# --- 2. Sig_structure byte-exact ----------------------------------------------------------


@pytest.mark.parametrize("name", ACCEPTED)
def test_to_be_signed_matches_upstream(name: str) -> None:
    ex = _example(name)
    msg = decode_sign1(_output(ex))
    expected = bytes.fromhex(ex["intermediates"]["ToBeSign_hex"])
    assert msg.to_be_signed(external_aad=_external_aad(ex)) == expected


# --- 3. re-sign with our own encoder ------------------------------------------------------


def _resign(ex: dict[str, Any], private_key: PrivateKey) -> bytes:
    signer_input = _signer(ex)
    return sign1(
        KeySigner(private_key),
        _plaintext(ex),
        protected=_headers(signer_input.get("protected", {})),
        unprotected=_headers(signer_input.get("unprotected", {})),
        external_aad=_external_aad(ex),
        # sign-pass-03 is the untagged variant; every other example is tag 18.
        tagged=_output(ex)[:1] == b"\xd2",
    )


@pytest.mark.parametrize("name", ACCEPTED)
def test_resign(name: str) -> None:
    ex = _example(name)
    jwk = _signer(ex)["key"]
    private_key = _private_key(jwk)
    public_key = _public_key(jwk)
    assert private_key.public_key() == public_key  # the example's d belongs to its x/y
    aad = _external_aad(ex)

    ours = _resign(ex, private_key)

    msg = decode_sign1(ours).verify(public_key, external_aad=aad)
    assert msg.to_be_signed(external_aad=aad) == bytes.fromhex(ex["intermediates"]["ToBeSign_hex"])
    theirs = _output(ex)
    assert len(ours) == len(theirs)
    # Same headers, payload and framing; the signature is the last len(sig) bytes of both.
    sig_len = len(decode_sign1(theirs).signature)
    assert ours[:-sig_len] == theirs[:-sig_len]
    if isinstance(private_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        # EdDSA is deterministic (RFC 8032): same key, same Sig_structure -> same bytes.
        assert ours == theirs


def test_resign_eddsa_sig_01_is_byte_identical() -> None:
    """Spelled out for the Ed25519 example: headers {1: -8, 3: 0} / {4: '11'}, tag 18."""
    ex = _example("eddsa-examples/eddsa-sig-01.json")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(_signer(ex)["key"]["d_hex"]))
    ours = sign1(
        KeySigner(key),
        b"This is the content.",
        protected={Header.CONTENT_TYPE: 0},
        unprotected={Header.KID: b"11"},
        tagged=True,
    )
    assert ours == _output(ex)


def test_resign_ecdsa_sig_04_uses_the_algorithm_of_the_key() -> None:
    """We cannot (and will not) make ES512-on-P-256: the P-256 signer always says ES256."""
    ex = _example("ecdsa-examples/ecdsa-sig-04.json")
    private_key = _private_key(_signer(ex)["key"])
    signer = KeySigner(private_key)
    assert signer.algorithm is Algorithm.ES256
    ours = _resign(ex, private_key)
    msg = decode_sign1(ours).verify(_public_key(_signer(ex)["key"]))
    assert msg.protected_bytes == bytes.fromhex("a10126")  # not the example's a1013823
    assert msg.protected_bytes != decode_sign1(_output(ex)).protected_bytes
