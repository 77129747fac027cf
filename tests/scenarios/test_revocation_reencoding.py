"""A revoked signer stays revoked however its certificate is encoded or re-issued.

An outside review found that a DS key id (SHA-256 of the whole DER certificate) changes when
anyone rewrites the root's ECDSA signature inside it from (r, s) to (r, n − s): doing that to
the certificate in an mdoc's unprotected ``x5chain`` made a revoked signer's licences green
again. Revocations now name the signer by its public key and by its issuer + serial number.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.credentials import issue_licence
from edl.demo import make_portrait
from edl.issue import DocumentSigner, issue_mdoc
from edl.model import Licence
from edl.verify import Verdict, verify_issuer_signed
from edl.verify_qr import verify_presentation
from edl.wallet import Wallet
from edl.x509 import RevokedSigner, certificate_der, key_id, make_document_signer
from edltest import NOW, City, licence_json, make_city, make_trust_list, malleate_certificate

SOON = NOW + dt.timedelta(seconds=5)


@pytest.fixture(scope="module")
def qingdao() -> City:
    return make_city("Qingdao", "CN")


@pytest.fixture(scope="module")
def phone():
    return ec.generate_private_key(ec.SECP256R1())


def with_x5chain(issuer_signed: bytes, chain: bytes | list[bytes]) -> bytes:
    """The same IssuerSigned with another unprotected x5chain (no key needed)."""
    value = cbor.decode(issuer_signed)
    auth = list(value["issuerAuth"])
    auth[1] = {**auth[1], int(cose.Header.X5CHAIN): chain}
    return cbor.encode({**value, "issuerAuth": auth})


def reissued(city: City):
    """The same DS key certified again by the city root (a new serial, a new key id)."""
    return make_document_signer(
        city.root_key,
        city.root,
        city.ds_key.public_key(),
        common_name="Qingdao DS",
        not_before=NOW - dt.timedelta(days=2),
        not_after=NOW + dt.timedelta(days=300),
    )


def test_reencoded_ds_signature_does_not_dodge_revocation(qingdao, phone):
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=phone.public_key(),
        signer=DocumentSigner(cose.KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
    ).to_bytes()
    trust = make_trust_list({"cn-qingdao": (qingdao, "CN")}, revoked={"cn-qingdao": [qingdao]})
    genuine_der = certificate_der(qingdao.ds)
    twin = malleate_certificate(genuine_der)
    assert twin != genuine_der and key_id(twin) != key_id(genuine_der)
    for chain in (genuine_der, twin, [twin]):
        result = verify_issuer_signed(with_x5chain(issued, chain), trust=trust.anchors(), now=SOON)
        assert result.verdict is Verdict.RED
        assert result.check("certificate_chain").code == "signer_revoked"


def test_the_same_key_certified_again_is_still_revoked(qingdao, phone):
    again = reissued(qingdao)
    assert key_id(certificate_der(again)) != key_id(certificate_der(qingdao.ds))
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=phone.public_key(),
        signer=DocumentSigner(cose.KeySigner(qingdao.ds_key), again),
        now=NOW,
    ).to_bytes()
    trust = make_trust_list({"cn-qingdao": (qingdao, "CN")}, revoked={"cn-qingdao": [qingdao]})
    result = verify_issuer_signed(issued, trust=trust.anchors(), now=SOON)
    assert result.check("certificate_chain").code == "signer_revoked"


def test_revocation_matches_on_issuer_and_serial_alone(qingdao):
    entry = RevokedSigner.of(qingdao.ds)
    other_key = RevokedSigner(kid=entry.kid, spki_sha256=bytes(32), issuer=entry.issuer, serial=entry.serial)
    assert other_key.matches(certificate_der(qingdao.ds))
    assert other_key.matches(malleate_certificate(certificate_der(qingdao.ds)))
    unrelated = RevokedSigner(kid=entry.kid, spki_sha256=bytes(32), issuer=entry.issuer, serial=b"\x01")
    assert not unrelated.matches(certificate_der(qingdao.ds))  # the short kid alone matches nothing


def test_qr_signer_listed_under_a_new_certificate_of_a_revoked_key_is_red(qingdao, phone):
    again = reissued(qingdao)
    issued = issue_licence(
        Licence.from_json(licence_json(portrait=make_portrait())),
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(cose.KeySigner(qingdao.ds_key), again),
        now=NOW,
    )
    wallet = Wallet(phone)
    wallet.add(issued.compact, issued.thumbnail)
    listed = City(root_key=qingdao.root_key, root=qingdao.root, ds_key=qingdao.ds_key, ds=again)
    trust = make_trust_list(
        {"cn-qingdao": (listed, "CN")},
        revoked={"cn-qingdao": [qingdao]},  # the old certificate revoked
    )
    result = verify_presentation(wallet.frames("roadside", at=NOW), trust=trust, now=SOON)
    assert result.verdict is Verdict.RED
    assert result.check("certificate_chain", None).code == "signer_revoked"
