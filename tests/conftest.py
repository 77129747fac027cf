"""Session fixtures: a test city (IACA root -> DS), holder key, licence, issued credential and
session transcript, all made once. Helpers live in edltest.py."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl.cose import KeySigner
from edl.issue import issue_mdoc
from edl.mdoc import IssuerSigned, SessionTranscript
from edl.model import Licence
from edltest import NOW, City, licence_json, make_city


@pytest.fixture(scope="session")
def city() -> City:
    return make_city()


@pytest.fixture(scope="session")
def other_city() -> City:
    return make_city("Ichikawa", "JP")


@pytest.fixture(scope="session")
def device_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def licence() -> Licence:
    return Licence.from_json(licence_json())


@pytest.fixture(scope="session")
def issued(city: City, device_key: ec.EllipticCurvePrivateKey, licence: Licence) -> IssuerSigned:
    return issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
    )


@pytest.fixture(scope="session")
def transcript() -> SessionTranscript:
    return SessionTranscript.from_bytes(
        cbor.encode(cbor.wrap24(cbor.encode([None, None, ["edl-test", b"nonce-123"]])))
    )
