"""ISO/IEC 18013-5 Annex D and the @auth0/mdl example (deviceSignature), as published.

Provenance: tests/data/vectors/PROVENANCE.md and iso18013-5/README.md. Annex D's DS
certificate is pinned (its IACA is not public); its MSO and DS certificate expired in 2021,
so a fixed time inside the validity verifies and today's date must be red (expired).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization

from edl.mdoc import DeviceResponse, SessionTranscript
from edl.verify import CheckStatus, Verdict, verify_device_response
from edl.x509 import TrustAnchors
from edltest import VECTORS

ANNEX_D = VECTORS / "iso18013-5" / "annex-d"
AUTH0 = VECTORS / "iso18013-5" / "auth0-example1"
UTC = dt.UTC


def _annex_d(now: dt.datetime, *, reader: bool = True, transcript: bool = True):
    reader_key = serialization.load_pem_private_key(
        (ANNEX_D / "ephemeral_reader_key_private.pem").read_bytes(), None
    )
    return verify_device_response(
        (ANNEX_D / "device_response.cbor").read_bytes(),
        trust=TrustAnchors.from_pem((ANNEX_D / "ds_cert.pem").read_bytes()),
        now=now,
        transcript=(ANNEX_D / "session_transcript_bytes.cbor").read_bytes() if transcript else None,
        reader_key=reader_key if reader else None,
    )


def test_annex_d_verifies_inside_its_validity():
    result = _annex_d(dt.datetime(2021, 1, 1, tzinfo=UTC))
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.failures()]
    assert result.check("certificate_chain").status is CheckStatus.PINNED
    assert result.check("device_auth").message.endswith("(MAC)")
    els = result.documents[0].elements["org.iso.18013.5.1"]
    expected = json.loads((ANNEX_D / "expected.json").read_text())
    assert els["family_name"] == "Doe"
    assert els["document_number"] == "123456789"
    assert els["issue_date"] == dt.date(2019, 10, 20)
    assert els["portrait"] == (ANNEX_D / "portrait.jpg").read_bytes()
    assert len(els) == 6
    assert expected  # the expectations file is present and parsed


def test_annex_d_is_red_expired_today():
    result = _annex_d(dt.datetime(2026, 11, 25, tzinfo=UTC))
    assert result.verdict is Verdict.RED
    assert result.check("ds_validity").code == "expired"
    assert result.check("mso_validity").code == "expired"


def test_annex_d_needs_the_reader_key_for_device_mac():
    result = _annex_d(dt.datetime(2021, 1, 1, tzinfo=UTC), reader=False)
    assert result.verdict is Verdict.RED
    assert result.check("device_auth").code == "reader_key_missing"


def test_annex_d_both_transcript_forms_are_the_same():
    tagged = SessionTranscript.from_bytes((ANNEX_D / "session_transcript_bytes.cbor").read_bytes())
    bare = SessionTranscript.from_bytes((ANNEX_D / "session_transcript.cbor").read_bytes())
    assert tagged == bare
    assert tagged.tagged == (ANNEX_D / "session_transcript_bytes.cbor").read_bytes()


def test_annex_d_reencoding_is_not_needed():
    # Our parse -> emit keeps every signed byte: the re-emitted response still verifies.
    data = (ANNEX_D / "device_response.cbor").read_bytes()
    again = DeviceResponse.from_bytes(data).to_bytes()
    reader_key = serialization.load_pem_private_key(
        (ANNEX_D / "ephemeral_reader_key_private.pem").read_bytes(), None
    )
    result = verify_device_response(
        again,
        trust=TrustAnchors.from_pem((ANNEX_D / "ds_cert.pem").read_bytes()),
        now=dt.datetime(2021, 1, 1, tzinfo=UTC),
        transcript=(ANNEX_D / "session_transcript_bytes.cbor").read_bytes(),
        reader_key=reader_key,
    )
    assert result.verdict is Verdict.GREEN


def _auth0(**kw):
    args = dict(
        trust=TrustAnchors.from_pem((AUTH0 / "issuer_cert.pem").read_bytes()),
        now=dt.datetime(2024, 1, 1, tzinfo=UTC),
        transcript=(AUTH0 / "session_transcript_bytes.cbor").read_bytes(),
    )
    args.update(kw)
    return verify_device_response((AUTH0 / "device_response.cbor").read_bytes(), **args)


def test_auth0_example_verifies_with_device_signature():
    result = _auth0()
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.failures()]
    assert result.check("device_auth").message == "the holder's device signed this session"
    assert result.check("issuing_country").status is CheckStatus.PASSED
    assert len(result.documents[0].elements["org.iso.18013.5.1"]) == 12


@pytest.mark.parametrize(
    "kw,check,code",
    [
        (dict(transcript=None), "device_auth", "transcript_missing"),
        (dict(now=dt.datetime(2023, 1, 1, tzinfo=UTC)), "ds_validity", "not_yet_valid"),
        (dict(now=dt.datetime(2034, 1, 1, tzinfo=UTC)), "ds_validity", "expired"),
    ],
    ids=["no-transcript", "before-cert", "after-cert"],
)
def test_auth0_example_negative(kw, check, code):
    result = _auth0(**kw)
    assert result.verdict is Verdict.RED
    assert result.check(check).code == code


def test_auth0_other_transcript_is_not_the_holder():
    from edl import cbor

    other = cbor.encode([None, None, ["123456", "someone else", "x", "y"]])
    result = _auth0(transcript=other)
    assert result.check("device_auth").code == "not_holder"
