"""The verifier's work is bounded by what it accepts, not by what an attacker sends.

An outside review built an ``x5chain`` of N self-issued CA certificates with one subject, listed
in reverse: the chain walk tried every certificate as the issuer of every other, about N²/2
signature checks (N = 3,600, under 1 MiB, took minutes). These tests count the signature checks
structurally (not by timing): at most one per certificate, and few certificates at all.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose, x509
from edl.errors import MalformedError, UntrustedIssuerError
from edl.issue import DocumentSigner, issue_mdoc
from edl.mdoc.issuer_signed import MAX_X5CHAIN
from edl.model import Licence
from edl.verify import Verdict, verify_issuer_signed
from edl.x509 import TrustAnchors, certificate_der, make_iaca
from edltest import NOW, licence_json, make_city


def self_issued(n: int) -> list[bytes]:
    """``n`` CA certificates with one subject and one key: each verifies as the issuer of every
    other, the worst case for a walk that tries every pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    return [
        certificate_der(
            make_iaca(
                key,
                common_name="Loop IACA",
                country="CN",
                not_before=NOW - dt.timedelta(days=i + 1),
                not_after=NOW + dt.timedelta(days=365),
            )
        )
        for i in range(n)
    ]


@pytest.fixture
def count_signature_checks(monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real = x509._issued_by.__wrapped__

    def counting(child: bytes, parent: bytes) -> bool:
        calls.append((child, parent))
        return real(child, parent)

    monkeypatch.setattr(x509, "_issued_by", counting)
    x509._walk.cache_clear()
    yield calls
    x509._walk.cache_clear()


def test_a_walk_checks_each_certificate_at_most_once(count_signature_checks):
    chain = self_issued(60)[::-1]
    unrelated = TrustAnchors([make_city().root])
    with pytest.raises(UntrustedIssuerError):
        x509.verify_chain(chain, unrelated, NOW, max_length=len(chain))
    parents = [p for _, p in count_signature_checks]
    assert len(parents) == len(set(parents)) <= len(chain) - 1  # linear: was ~N²/2 = 1,770


def test_a_chain_longer_than_the_bound_costs_no_signature_check(count_signature_checks):
    chain = self_issued(x509.MAX_CHAIN + 1)
    with pytest.raises(MalformedError, match="at most 3"):
        x509.verify_chain(chain, TrustAnchors([make_city().root]), NOW)
    assert count_signature_checks == []


def test_an_mdoc_x5chain_holds_the_ds_and_at_most_its_issuer(count_signature_checks):
    city = make_city()
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        signer=DocumentSigner(cose.KeySigner(city.ds_key), city.ds),
        now=NOW,
    ).to_bytes()
    value = cbor.decode(issued)
    auth = list(value["issuerAuth"])
    ds = certificate_der(city.ds)
    anchors = TrustAnchors([city.root])
    # IssuerSigned alone is at best amber (the holder is not checked); red is a failed check.
    for extra, verdict in ((0, Verdict.AMBER), (1, Verdict.AMBER), (2, Verdict.RED), (400, Verdict.RED)):
        chain = [ds, certificate_der(city.root)] + self_issued(1) * (extra - 1) if extra else [ds]
        auth[1] = {int(cose.Header.X5CHAIN): chain}
        count_signature_checks.clear()
        result = verify_issuer_signed(
            cbor.encode({**value, "issuerAuth": auth}), trust=anchors, now=NOW + dt.timedelta(minutes=1)
        )
        assert result.verdict is verdict, (extra, result.checks)
        if len(chain) > MAX_X5CHAIN:
            assert result.check("certificate_chain").code == "malformed"
            assert count_signature_checks == []  # refused before any certificate is read
        else:
            assert len(count_signature_checks) <= len(chain)


def test_a_response_holds_a_bounded_number_of_documents(count_signature_checks, transcript):
    from edl.mdoc.device_response import MAX_DOCUMENTS
    from edl.verify import verify_device_response
    from edl.wallet import respond

    city = make_city()
    phone = ec.generate_private_key(ec.SECP256R1())
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=phone.public_key(),
        signer=DocumentSigner(cose.KeySigner(city.ds_key), city.ds),
        now=NOW,
    )
    response = cbor.decode(
        respond(issued, device_key=cose.KeySigner(phone), transcript=transcript).to_bytes()
    )
    later = NOW + dt.timedelta(minutes=1)
    for n, verdict in ((MAX_DOCUMENTS, Verdict.GREEN), (MAX_DOCUMENTS + 1, Verdict.RED)):
        many = cbor.encode({**response, "documents": response["documents"] * n})
        result = verify_device_response(
            many, trust=TrustAnchors([city.root]), now=later, transcript=transcript
        )
        assert result.verdict is verdict
    assert result.check("structure", None).code == "malformed"


def test_an_issuer_signed_holds_a_bounded_number_of_elements():
    from edl.mdoc import IssuerSigned
    from edl.mdoc.issuer_signed import MAX_ITEMS

    city = make_city()
    issued = issue_mdoc(
        Licence.from_json(licence_json()),
        device_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        signer=DocumentSigner(cose.KeySigner(city.ds_key), city.ds),
        now=NOW,
    ).to_bytes()
    value = cbor.decode(issued)
    (ns, items), *_ = value["nameSpaces"].items()
    fits = cbor.encode({**value, "nameSpaces": {ns: (items * MAX_ITEMS)[:MAX_ITEMS]}})
    assert len(IssuerSigned.from_bytes(fits).element_ids()) == MAX_ITEMS
    with pytest.raises(MalformedError, match="more than 1024"):
        IssuerSigned.from_bytes(
            cbor.encode({**value, "nameSpaces": {ns: (items * MAX_ITEMS)[: MAX_ITEMS + 1]}})
        )
