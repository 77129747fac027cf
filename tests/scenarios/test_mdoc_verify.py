"""The mdoc verifier as a table: one row per situation, with the expected verdict and the
check that must say why. Every row issues and presents real credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.cose import KeySigner
from edl.issue import issue_mdoc
from edl.mdoc import DeviceResponse, SessionTranscript, StatusReference
from edl.verify import CheckStatus, Verdict, verify_device_response, verify_issuer_signed
from edl.wallet import respond
from edl.x509 import certificate_der
from edltest import NOW, City, make_city

ISO = "org.iso.18013.5.1"


@dataclass
class Case:
    id: str
    verdict: Verdict
    check: str | None = None  # the check that decides
    code: str | None = None


def _present(city: City, device_key, licence, transcript, **issue_kw) -> bytes:
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=issue_kw.pop("now", NOW),
        **issue_kw,
    )
    return respond(issued, device_key=KeySigner(device_key), transcript=transcript).to_bytes()


def _status(result, name: str) -> tuple[CheckStatus, str]:
    c = result.check(name)
    return c.status, c.code


def test_genuine_presentation_is_green(city, device_key, licence, transcript):
    data = _present(city, device_key, licence, transcript)
    result = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript)
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.failures()]
    assert result.valid
    names = [c.name for c in result.checks]
    assert names == [
        "structure",
        "certificate_chain",
        "ds_profile",
        "ds_validity",
        "issuer_signature",
        "doc_type",
        "value_digests",
        "mso_validity",
        "issuing_country",
        "device_auth",
        "status",
    ]
    elements = result.documents[0].elements[ISO]
    assert elements["family_name"] == "Zhang"
    assert elements["birth_date"] == dt.date(1990, 3, 14)
    assert elements["family_name_national_character"] == "张"


def test_selective_disclosure_shows_only_chosen(city, device_key, issued, transcript):
    resp = respond(
        issued,
        device_key=KeySigner(device_key),
        transcript=transcript,
        disclose=[(ISO, "age_over_18"), (ISO, "portrait")],
    )
    result = verify_device_response(resp.to_bytes(), trust=[city.root], now=NOW, transcript=transcript)
    assert result.verdict is Verdict.GREEN
    assert set(result.documents[0].elements[ISO]) == {"age_over_18", "portrait"}


def test_device_mac_round_trip(city, device_key, issued, transcript):
    reader = ec.generate_private_key(ec.SECP256R1())
    resp = respond(issued, device_key=device_key, transcript=transcript, reader_key=reader.public_key())
    data = resp.to_bytes()
    ok = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript, reader_key=reader)
    assert ok.verdict is Verdict.GREEN
    wrong = verify_device_response(
        data,
        trust=[city.root],
        now=NOW,
        transcript=transcript,
        reader_key=ec.generate_private_key(ec.SECP256R1()),
    )
    assert _status(wrong, "device_auth") == (CheckStatus.FAILED, "not_holder")
    missing = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript)
    assert _status(missing, "device_auth") == (CheckStatus.FAILED, "reader_key_missing")


# --- the table -------------------------------------------------------------------------------


def _other_root(ctx):
    return dict(trust=[make_city("Guangzhou").root])


def _expired_time(ctx):
    return dict(now=NOW + dt.timedelta(days=500))


def _before_time(ctx):
    return dict(now=NOW - dt.timedelta(days=3))


def _no_transcript(ctx):
    return dict(transcript=None)


def _other_transcript(ctx):
    return dict(transcript=SessionTranscript.from_bytes(cbor.encode([None, None, ["another session"]])))


ROWS: list[tuple[Case, Callable[[Any], dict]]] = [
    (Case("untrusted-root", Verdict.RED, "certificate_chain", "untrusted_issuer"), _other_root),
    (Case("everything-expired", Verdict.RED, "ds_validity", "expired"), _expired_time),
    (Case("not-yet-valid", Verdict.RED, "mso_validity", "not_yet_valid"), _before_time),
    (
        Case("no-transcript-means-holder-unchecked", Verdict.RED, "device_auth", "transcript_missing"),
        _no_transcript,
    ),
    (Case("replayed-into-another-session", Verdict.RED, "device_auth", "not_holder"), _other_transcript),
]


@pytest.mark.parametrize("case,change", ROWS, ids=[r[0].id for r in ROWS])
def test_table(case: Case, change, city, device_key, licence, transcript):
    data = _present(city, device_key, licence, transcript)
    kwargs: dict[str, Any] = dict(trust=[city.root], now=NOW, transcript=transcript)
    kwargs.update(change(None))
    result = verify_device_response(data, **kwargs)
    assert result.verdict is case.verdict
    assert _status(result, case.check) == (CheckStatus.FAILED, case.code)
    assert not result.valid


def test_tampered_element_is_red_and_not_shown(city, device_key, licence, transcript):
    data = _present(city, device_key, licence, transcript)
    forged = data.replace(b"Zhang", b"Zhong", 1)
    result = verify_device_response(forged, trust=[city.root], now=NOW, transcript=transcript)
    assert result.verdict is Verdict.RED
    assert _status(result, "value_digests") == (CheckStatus.FAILED, "tampered")
    assert "family_name" not in result.documents[0].elements[ISO]  # the forged value is never shown
    assert result.documents[0].elements[ISO]["given_name"] == "Wei"


def test_other_device_key_is_not_the_holder(city, device_key, issued, transcript):
    thief = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="not the one the credential was issued to"):
        respond(issued, device_key=KeySigner(thief), transcript=transcript)
    # A thief building the response by hand still fails verification.
    good = respond(issued, device_key=KeySigner(device_key), transcript=transcript)
    doc = good.documents[0]
    from edl.mdoc.device_response import DeviceSigned, Document, device_authentication_bytes

    payload = device_authentication_bytes(transcript, doc.doc_type, b"\xa0")
    sig = cbor.decode(cose.sign1(KeySigner(thief), payload, detached=True))
    forged_ds = DeviceSigned.from_value(
        {"nameSpaces": cbor.wrap24(b"\xa0"), "deviceAuth": {"deviceSignature": sig}}
    )
    forged = DeviceResponse(
        documents=(Document(doc_type=doc.doc_type, issuer_signed=doc.issuer_signed, device_signed=forged_ds),)
    )
    result = verify_device_response(forged.to_bytes(), trust=[city.root], now=NOW, transcript=transcript)
    assert _status(result, "device_auth") == (CheckStatus.FAILED, "not_holder")
    assert result.verdict is Verdict.RED


def test_doc_type_swap_is_red(city, device_key, issued, transcript):
    resp = respond(issued, device_key=KeySigner(device_key), transcript=transcript)
    value = resp.to_value()
    value["documents"][0]["docType"] = "org.iso.23220.photoid.1"
    result = verify_device_response(cbor.encode(value), trust=[city.root], now=NOW, transcript=transcript)
    assert _status(result, "doc_type") == (CheckStatus.FAILED, "doc_type_mismatch")


def test_status_reference_without_status_list_is_amber(city, device_key, licence, transcript):
    data = _present(
        city,
        device_key,
        licence,
        transcript,
        status=StatusReference(idx=412, uri="https://qingdao.example/status/1"),
    )
    result = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript)
    assert result.verdict is Verdict.AMBER
    assert _status(result, "status") == (CheckStatus.NOT_CHECKED, "status_missing")
    assert not result.valid


def test_pinned_ds_certificate(city, device_key, licence, transcript):
    data = _present(city, device_key, licence, transcript)
    result = verify_device_response(data, trust=[city.ds], now=NOW, transcript=transcript)
    assert result.verdict is Verdict.GREEN
    assert result.check("certificate_chain").status is CheckStatus.PINNED
    assert result.check("ds_profile").status is CheckStatus.PINNED
    # A pin does not excuse the time checks.
    late = verify_device_response(
        data, trust=[city.ds], now=NOW + dt.timedelta(days=500), transcript=transcript
    )
    assert _status(late, "ds_validity") == (CheckStatus.FAILED, "expired")


def test_issuer_only_says_holder_not_checked(city, issued):
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    assert result.verdict is Verdict.AMBER  # authentic, but the holder was not checked
    assert not result.valid
    assert all(c.status is not CheckStatus.FAILED for c in result.checks)
    assert _status(result, "device_auth") == (CheckStatus.NOT_CHECKED, "holder_unchecked")


def test_ds_without_mdl_eku_is_refused(city, device_key, licence, transcript):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ds_key = ec.generate_private_key(ec.SECP256R1())
    bad = (
        x509.CertificateBuilder()
        .subject_name(city.ds.subject)
        .issuer_name(city.root.subject)
        .public_key(ds_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=100))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=True)
        .sign(
            city.root_key, __import__("cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256()
        )
    )
    rogue = City(root_key=city.root_key, root=city.root, ds_key=ds_key, ds=bad)
    data = _present(rogue, device_key, licence, transcript)
    result = verify_device_response(data, trust=[city.root], now=NOW, transcript=transcript)
    assert _status(result, "ds_profile") == (CheckStatus.FAILED, "ds_eku")
    assert result.verdict is Verdict.RED
    assert result.documents == ()  # nothing from an unfit signer is shown


def test_issuing_country_must_match_signer(device_key, transcript):
    from edl.model import Licence
    from edltest import licence_json

    jp = make_city("Ichikawa", "JP")
    lic = Licence.from_json(licence_json(country="CN"))  # claims CN, signed by a JP city
    data = _present(jp, device_key, lic, transcript)
    result = verify_device_response(data, trust=[jp.root], now=NOW, transcript=transcript)
    assert _status(result, "issuing_country") == (CheckStatus.FAILED, "country_mismatch")


def test_no_trust_anchors_is_a_caller_error(issued):
    with pytest.raises(ValueError, match="no trust anchors"):
        verify_issuer_signed(issued.to_bytes(), trust=[], now=NOW)


def test_naive_time_is_a_caller_error(city, issued):
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=dt.datetime(2026, 1, 1))


def _with_large_digest_ids(city, device_key, licence) -> bytes:
    """An IssuerSigned like a real national issuer's: digest IDs of 2^31 and more, every digest
    and the issuer's signature genuine (the items are rebuilt with those IDs and signed again)."""
    import dataclasses

    from edl.mdoc import IssuerSigned
    from edl.mdoc.items import IssuerSignedItem

    base = IssuerSigned.from_bytes(
        issue_mdoc(
            licence,
            device_key=device_key.public_key(),
            signer=KeySigner(city.ds_key),
            signer_certificate=city.ds,
            now=NOW,
        ).to_bytes()
    )
    namespaces, digests = {}, {}
    for ns, items in base.namespaces.items():
        rebuilt = []
        for i, item in enumerate(items):
            raw = cbor.encode(
                {"digestID": 2**31 + 7 * i if i % 2 else i, "random": item.random,
                 "elementIdentifier": item.element_identifier, "elementValue": item.element_value}
            )  # fmt: skip
            rebuilt.append(IssuerSignedItem.from_value(cbor.wrap24(raw), namespace=ns))
        namespaces[ns] = [cbor.wrap24(i.raw) for i in rebuilt]
        digests[ns] = {i.digest_id: i.digest() for i in rebuilt}
    mso = dataclasses.replace(base.mso(), value_digests=digests)
    auth = cose.sign1_body(KeySigner(city.ds_key), mso.to_bytes(), unprotected={33: certificate_der(city.ds)})
    return cbor.encode({"nameSpaces": namespaces, "issuerAuth": auth})


def test_digest_ids_of_2_31_and_more_verify_and_are_reported(city, device_key, licence):
    data = _with_large_digest_ids(city, device_key, licence)
    result = verify_issuer_signed(data, trust=[city.root], now=NOW)
    assert result.check("value_digests").status is CheckStatus.PASSED
    conformance = result.check("conformance")
    assert conformance.code == "digest_id_too_large" and not conformance.required
    assert "2^31" in conformance.message
    assert result.verdict is Verdict.AMBER  # issuer data only: the same verdict as a conformant one
    assert "conformance" in [c["name"] for c in result.to_json()["checks"]]


def test_an_unreadable_mso_has_a_check_of_its_own(city):
    auth = cose.sign1_body(
        KeySigner(city.ds_key), cbor.encode({"not": "an MSO"}), unprotected={33: certificate_der(city.ds)}
    )
    result = verify_issuer_signed(
        cbor.encode({"nameSpaces": {}, "issuerAuth": auth}), trust=[city.root], now=NOW
    )
    assert result.check("mso").code == "malformed"
    assert result.check("doc_type").status is CheckStatus.NOT_CHECKED
