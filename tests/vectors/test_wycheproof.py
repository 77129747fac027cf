"""Wycheproof signature vectors through ``edl.cose.verify_signature``.

Source and licence: ``tests/data/vectors/PROVENANCE.md`` and ``wycheproof/README.md``.
Every test case of the three files runs; ``valid`` must return ``None``, anything else must
raise exactly :class:`~edl.errors.SignatureError` (never a parsing error, never a crash):
a wrong signature is a wrong signature, whatever shape it has.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from edl.cose import Algorithm, PublicKey, verify_signature
from edl.errors import SignatureError
from edltest import VECTORS

DIR = VECTORS / "wycheproof"


class Suite(NamedTuple):
    prefix: str
    filename: str
    alg: Algorithm
    curve: ec.EllipticCurve | None  # None: Ed25519
    # From wycheproof/README.md: a truncated or swapped file must fail.
    tests: int
    valid: int
    invalid: int


SUITES = (
    Suite(
        "p256",
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Algorithm.ES256,
        ec.SECP256R1(),
        tests=262,
        valid=173,
        invalid=89,
    ),
    Suite(
        "p384",
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Algorithm.ES384,
        ec.SECP384R1(),
        tests=280,
        valid=193,
        invalid=87,
    ),
    Suite("ed25519", "ed25519_test.json", Algorithm.EDDSA, None, tests=151, valid=88, invalid=63),
)


class Case(NamedTuple):
    suite: Suite
    public_key: dict[str, Any]
    tc_id: int
    msg: bytes
    sig: bytes
    result: str


@functools.cache
def _load(filename: str) -> dict[str, Any]:
    return json.loads((DIR / filename).read_text(encoding="utf-8"))


def _cases() -> list[Any]:
    params = []
    for suite in SUITES:
        for group in _load(suite.filename)["testGroups"]:
            for t in group["tests"]:
                case = Case(
                    suite,
                    group["publicKey"],
                    t["tcId"],
                    bytes.fromhex(t["msg"]),
                    bytes.fromhex(t["sig"]),
                    t["result"],
                )
                flags = "+".join(t["flags"]) or "noflag"
                params.append(pytest.param(case, id=f"{suite.prefix}-tc{t['tcId']}-{flags}"))
    return params


def _public_key(suite: Suite, public_key: dict[str, Any]) -> PublicKey:
    if suite.curve is None:
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key["pk"]))
    return ec.EllipticCurvePublicKey.from_encoded_point(
        suite.curve, bytes.fromhex(public_key["uncompressed"])
    )


@pytest.mark.parametrize("case", _cases())
def test_vector(case: Case) -> None:
    key = _public_key(case.suite, case.public_key)
    if case.result == "valid":
        assert verify_signature(key, case.suite.alg, case.msg, case.sig) is None
    else:
        assert case.result == "invalid"  # the README counts no "acceptable" cases
        with pytest.raises(SignatureError) as excinfo:
            verify_signature(key, case.suite.alg, case.msg, case.sig)
        assert type(excinfo.value) is SignatureError
        assert excinfo.value.code == "bad_signature"


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.prefix)
def test_file_is_complete(suite: Suite) -> None:
    data = _load(suite.filename)
    results = [t["result"] for g in data["testGroups"] for t in g["tests"]]
    assert data["numberOfTests"] == suite.tests
    assert len(results) == suite.tests
    assert results.count("valid") == suite.valid
    assert results.count("invalid") == suite.invalid
    tc_ids = [t["tcId"] for g in data["testGroups"] for t in g["tests"]]
    assert len(set(tc_ids)) == len(tc_ids)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.prefix)
def test_file_matches_algorithm(suite: Suite) -> None:
    """The key type in the file is the one the suite feeds to ``verify_signature``."""
    data = _load(suite.filename)
    for group in data["testGroups"]:
        if suite.curve is None:
            assert group["publicKey"]["curve"] == "edwards25519"
        else:
            assert group["publicKey"]["curve"] == suite.curve.name
