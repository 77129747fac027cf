"""The revocation-status policy, one table run through both verifiers (ISO mdoc and rotating QR).

A licence issued with a status reference (list 0, index 7 of Qingdao) is checked against the
city's signed status list: green only when the list is present, verified, unexpired and younger
than the maximum age; red `revoked` / `suspended`; amber `status_missing` / `status_stale`; an
index outside the list red `malformed`. A revocation is final: a stale list that shows one is red.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cose
from edl.credentials import issue_licence
from edl.demo import make_portrait
from edl.issue import DocumentSigner
from edl.model import Licence
from edl.status import StatusList, VerifiedStatusList, sign_status_list, status_uri, verify_status_list
from edl.verify import CheckStatus, Verdict, verify_device_response
from edl.verify_qr import verify_presentation
from edl.wallet import Wallet, respond
from edl.x509 import TrustAnchors, make_status_signer
from edltest import NOW, City, licence_json, make_city, make_trust_list

INDEX = 7
URI = status_uri("cn-qingdao", 0)
HOUR = dt.timedelta(hours=1)


@dataclass
class Lists:
    """A minimal status source: the verified lists by URI (what a loaded bundle provides)."""

    by_uri: dict[str, VerifiedStatusList]

    def status_list(self, uri: str) -> VerifiedStatusList | None:
        return self.by_uri.get(uri)


def signed_list(
    city: City, *, value: int = 0, size: int = 64, issued=NOW, days: int = 3
) -> VerifiedStatusList:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_status_signer(
        city.root_key,
        city.root,
        key.public_key(),
        common_name="Qingdao status",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=300),
    )
    lst = StatusList(size)
    if value and size > INDEX:
        lst.set(INDEX, value)
    data = sign_status_list(
        lst,
        cose.KeySigner(key),
        [cert],
        uri=URI,
        sequence=1,
        issued=issued,
        expires=issued + days * 24 * HOUR,
    )
    return verify_status_list(data, city_anchors=TrustAnchors([city.root]), now=issued)


@dataclass(frozen=True)
class Row:
    id: str
    lists: Callable[[City], Lists | None]
    at: dt.timedelta
    verdict: Verdict
    code: str


def with_list(**kwargs) -> Callable[[City], Lists]:
    return lambda city: Lists({URI: signed_list(city, **kwargs)})


ROWS = [
    Row("valid-and-fresh", with_list(), HOUR, Verdict.GREEN, "ok"),
    Row("revoked", with_list(value=1), HOUR, Verdict.RED, "revoked"),
    Row("suspended", with_list(value=2), HOUR, Verdict.RED, "suspended"),
    Row("no-status-source", lambda c: None, HOUR, Verdict.AMBER, "status_missing"),
    Row("city-list-stripped", lambda c: Lists({}), HOUR, Verdict.AMBER, "status_missing"),
    Row("older-than-72h", with_list(days=7), 73 * HOUR, Verdict.AMBER, "status_stale"),
    Row("expired", with_list(days=1), 25 * HOUR, Verdict.AMBER, "status_stale"),
    Row("revoked-in-a-stale-list", with_list(value=1, days=7), 80 * HOUR, Verdict.RED, "revoked"),
    Row("suspended-in-a-stale-list", with_list(value=2, days=7), 80 * HOUR, Verdict.AMBER, "status_stale"),
    Row("index-outside-the-list", with_list(size=4), HOUR, Verdict.RED, "malformed"),
]


@pytest.fixture(scope="module")
def qingdao() -> City:
    return make_city("Qingdao", "CN")


@pytest.fixture(scope="module")
def issued(qingdao):
    phone = ec.generate_private_key(ec.SECP256R1())
    lic = issue_licence(
        Licence.from_json(licence_json(portrait=make_portrait())),
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(cose.KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
        status=(0, INDEX),
        status_uri=URI,
    )
    return lic, phone


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_status_policy_for_the_iso_mdoc(row, qingdao, issued, transcript):
    lic, phone = issued
    response = respond(lic.mdoc, device_key=cose.KeySigner(phone), transcript=transcript).to_bytes()
    result = verify_device_response(
        response, trust=[qingdao.root], now=NOW + row.at, transcript=transcript, status=row.lists(qingdao)
    )
    _expect(result, row)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_status_policy_for_the_rotating_qr(row, qingdao, issued):
    lic, phone = issued
    wallet = Wallet(phone)
    wallet.add(lic.compact, lic.thumbnail)
    at = NOW + row.at
    trust = make_trust_list({"cn-qingdao": (qingdao, "CN")}, now=NOW)
    if row.at > 7 * 24 * HOUR:
        pytest.skip("the test trust list lasts 7 days")
    result = verify_presentation(
        wallet.frames("roadside", at=at),
        trust=trust,
        now=at + dt.timedelta(seconds=3),
        status=row.lists(qingdao),
    )
    _expect(result, row)


def _expect(result, row: Row) -> None:
    status = result.check("status", 0) if result.checks[0].document is None else result.check("status")
    assert status.code == row.code, (status, [c for c in result.checks if c.status is CheckStatus.FAILED])
    assert result.verdict is row.verdict, result.checks
    if row.code in ("revoked", "suspended"):
        assert "do not accept" in status.message
    if row.code in ("status_missing", "status_stale"):
        assert "bundle" in status.message  # says what to do


def test_a_status_index_shifted_by_one_breaks_the_issuers_signature(qingdao, issued, transcript):
    # A holder whose licence is revoked points it at the next place (a valid one): the index is
    # inside what the city signed, so the issuer's signature no longer verifies (red).
    from edl import cbor
    from edl.compact import Claim, decode_compact
    from edl.presentation import encode_text, make_frame

    lic, phone = issued
    lists = Lists({URI: signed_list(qingdao, value=1)})
    sign1 = decode_compact(lic.compact["roadside"]).sign1
    claims = cbor.decode(sign1.payload)
    assert claims[int(Claim.STATUS)] == [0, INDEX]
    claims[int(Claim.STATUS)] = [0, INDEX + 1]
    value = cbor.decode(lic.compact["roadside"])
    body = list(value.value if isinstance(value, cbor.CBORTag) else value)
    body[2] = cbor.encode(claims)  # the same signature over other claims
    shifted = cbor.encode(body)
    frame = encode_text(make_frame(shifted, device=cose.KeySigner(phone), at=NOW))
    trust = make_trust_list({"cn-qingdao": (qingdao, "CN")}, now=NOW)
    result = verify_presentation([frame], trust=trust, now=NOW + dt.timedelta(seconds=3), status=lists)
    assert result.verdict is Verdict.RED
    assert result.check("issuer_signature", None).code == "bad_signature"
    # The ISO mdoc: the MSO's status idx re-encoded under the same issuerAuth signature.
    mdoc = cbor.decode(lic.mdoc.to_bytes())
    auth = list(mdoc["issuerAuth"])
    mso = cbor.decode(cbor.decode(auth[2]).value)
    mso["status"]["status_list"]["idx"] = INDEX + 1
    auth[2] = cbor.encode(cbor.wrap24(cbor.encode(mso)))
    from edl.verify import verify_issuer_signed

    result = verify_issuer_signed(
        cbor.encode({**mdoc, "issuerAuth": auth}), trust=[qingdao.root], now=NOW + HOUR, status=lists
    )
    assert result.check("issuer_signature").code == "bad_signature" and result.verdict is Verdict.RED
