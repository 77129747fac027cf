"""The rotating QR, end to end in the library: issue (mdoc + compact profiles), the wallet's
frames, and the frame verifier, as a table of attacks and situations with expected outcomes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor
from edl.cose import KeySigner
from edl.credentials import issue_licence
from edl.demo import make_portrait
from edl.issue import DocumentSigner
from edl.model import Licence
from edl.presentation import MAX_PAYLOAD_BYTES, decode_text, encode_text, make_frame
from edl.verify import CheckStatus, Verdict
from edl.verify_qr import DEFAULT_WINDOW, MixedCarouselError, verify_presentation
from edl.wallet import Wallet
from edltest import NOW, issue_to_wallet, licence_json, make_city, make_trust_list

SOON = NOW + dt.timedelta(seconds=5)
ISO = "org.iso.18013.5.1"


@pytest.fixture(scope="module")
def qingdao():
    return make_city("Qingdao", "CN")


@pytest.fixture(scope="module")
def phone():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def portrait_licence():
    return Licence.from_json(licence_json(portrait=make_portrait()))


@pytest.fixture(scope="module")
def issued(qingdao, phone, portrait_licence):
    return issue_licence(
        portrait_licence,
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
    )


@pytest.fixture(scope="module")
def trust(qingdao):
    return make_trust_list({"cn-qingdao": (qingdao, "CN")})


@pytest.fixture(scope="module")
def wallet(phone, issued):
    w = Wallet(phone)
    w.add(issued.compact, issued.thumbnail)
    return w


def test_roadside_carousel_is_green_with_portrait(wallet, trust, issued):
    texts = wallet.frames("roadside", at=NOW)
    result = verify_presentation(texts, trust=trust, now=SOON)
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.checks]
    els = result.documents[0].elements[ISO]
    assert els["family_name"] == "Zhang" and els["family_name_national_character"] == "张"
    assert els["portrait"] == issued.thumbnail
    assert els["birth_date"] == dt.date(1990, 3, 14)


def test_frames_in_any_order_with_duplicates(wallet, trust):
    texts = wallet.frames("roadside", at=NOW)
    shuffled = list(reversed(texts)) + texts[1:]
    assert verify_presentation(shuffled, trust=trust, now=SOON).verdict is Verdict.GREEN


@pytest.mark.parametrize(
    "profile,shown",
    [
        ("age-check", {"age_over_18", "portrait"}),
        ("rental", {"family_name", "given_name", "document_number", "driving_privileges"}),
    ],
)
def test_profiles_disclose_only_their_data(profile, shown, wallet, trust):
    result = verify_presentation(wallet.frames(profile, at=NOW), trust=trust, now=SOON)
    assert result.verdict is Verdict.GREEN
    assert set(result.documents[0].elements[ISO]) == shown


def test_every_frame_fits_the_budget(wallet):
    for profile in ("roadside", "age-check", "rental"):
        for text in wallet.frames(profile, at=NOW, challenge=b"12345678"):
            assert len(decode_text(text)) <= MAX_PAYLOAD_BYTES
            assert set(text[4:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def _long_licence(categories):
    lj = licence_json(portrait=make_portrait(seed=3))
    lj.update(
        {
            "family_name": "Ouyang-Montgomery",
            "given_name": "Alexandra Christina",
            "family_name_national_character": "欧阳",
            "given_name_national_character": "亚历山德拉",
            "document_number": "370200199003140011",
        }
    )
    lj["driving_privileges"] = categories
    return Licence.from_json(lj)


def test_a_long_realistic_licence_still_fits(qingdao, phone):
    lic = _long_licence(
        [
            {
                "vehicle_category_code": "C1",
                "issue_date": "2012-06-01",
                "expiry_date": "2034-01-14",
                "codes": [{"code": "01"}],
            },
            {"vehicle_category_code": "D", "issue_date": "2018-09-10", "expiry_date": "2034-01-14"},
        ]
    )
    _got, w = issue_to_wallet(qingdao, phone, lic)
    for text in w.frames("roadside", at=NOW, challenge=b"0123456789abcdef"):
        assert len(decode_text(text)) <= MAX_PAYLOAD_BYTES


def test_a_licence_too_big_for_one_frame_is_refused_at_issuance(qingdao, phone):
    codes = [{"code": c} for c in ("01", "02", "78", "95")]
    lic = _long_licence(
        [
            {
                "vehicle_category_code": c,
                "issue_date": "2012-06-01",
                "expiry_date": "2034-01-14",
                "codes": codes,
            }
            for c in ("C1", "D", "A2", "BE")
        ]
    )
    with pytest.raises(ValueError, match="one QR frame holds"):
        issue_licence(
            lic,
            city="cn-qingdao",
            device_key=phone.public_key(),
            signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
            now=NOW,
        )


def _with_chunk(texts, index, new):
    return [t if i != index else new for i, t in enumerate(texts)]


def test_stale_frame_is_red(wallet, trust):
    texts = wallet.frames("roadside", at=NOW)
    result = verify_presentation(texts, trust=trust, now=NOW + DEFAULT_WINDOW + dt.timedelta(seconds=1))
    assert result.verdict is Verdict.RED
    c = result.check("freshness", None)
    assert c.code == "stale_qr" and "QR expired" in c.message and "refresh" in c.message


def test_frame_from_the_future_is_red(wallet, trust):
    result = verify_presentation(
        wallet.frames("roadside", at=NOW + dt.timedelta(minutes=5)), trust=trust, now=NOW
    )
    assert result.check("freshness", None).code == "clock_skew"


def test_frame_signed_by_another_device_is_not_the_holder(issued, trust):
    thief = ec.generate_private_key(ec.SECP256R1())
    frame = encode_text(make_frame(issued.compact["roadside"], device=KeySigner(thief), at=NOW))
    result = verify_presentation([frame], trust=trust, now=SOON)
    assert result.verdict is Verdict.RED
    assert result.check("device_auth", None).code == "not_holder"
    with pytest.raises(ValueError, match="another device key"):
        Wallet(thief).add(issued.compact, issued.thumbnail)


def test_unknown_key_id_is_untrusted(wallet):
    other = make_trust_list({"jp-ichikawa": (make_city("Ichikawa", "JP"), "JP")})
    result = verify_presentation(wallet.frames("roadside", at=NOW), trust=other, now=SOON)
    assert result.verdict is Verdict.RED
    assert result.check("certificate_chain", None).code == "untrusted_issuer"


def test_revoked_signer_is_red_and_retired_still_green(qingdao, wallet):
    revoked = make_trust_list(
        {"cn-qingdao": (make_city("Qingdao", "CN"), "CN")}, revoked={"cn-qingdao": [qingdao]}
    )
    result = verify_presentation(wallet.frames("roadside", at=NOW), trust=revoked, now=SOON)
    assert result.check("certificate_chain", None).code == "signer_revoked"
    # After a rotation the old signer is "retired": what it signed still verifies.
    rotated = make_city("Qingdao", "CN")
    retired_list = make_trust_list({"cn-qingdao": (rotated, "CN")}, retired={"cn-qingdao": [qingdao]})
    # the retired DS chains to its own root: list it as a second root of the city
    assert (
        verify_presentation(
            wallet.frames("roadside", at=NOW),
            trust=[retired_list, make_trust_list({"cn-qingdao": (qingdao, "CN")})],
            now=SOON,
        ).verdict
        is Verdict.GREEN
    )


def test_challenge(wallet, trust):
    asked = b"K7Q2"
    ok = verify_presentation(
        wallet.frames("roadside", at=NOW, challenge=asked), trust=trust, now=SOON, challenge=asked
    )
    assert ok.verdict is Verdict.GREEN and ok.check("challenge", None).status is CheckStatus.PASSED
    wrong = verify_presentation(
        wallet.frames("roadside", at=NOW, challenge=b"XXXX"), trust=trust, now=SOON, challenge=asked
    )
    assert wrong.verdict is Verdict.RED and wrong.check("challenge", None).code == "challenge_mismatch"
    none = verify_presentation(wallet.frames("roadside", at=NOW), trust=trust, now=SOON, challenge=asked)
    assert none.verdict is Verdict.RED


def test_missing_or_altered_portrait_is_amber_and_not_shown(wallet, trust):
    texts = wallet.frames("roadside", at=NOW)
    assert len(texts) >= 3
    missing = verify_presentation(texts[:-1], trust=trust, now=SOON)
    assert missing.verdict is Verdict.AMBER
    assert missing.check("portrait", None).code == "portrait_missing"
    assert "portrait" not in missing.documents[0].elements[ISO]
    # Alter one byte of a chunk's image data (re-encoded, so it still parses).
    value = cbor.decode(decode_text(texts[1]))
    value[4] = bytes([value[4][0] ^ 1]) + value[4][1:]
    altered = verify_presentation(
        _with_chunk(texts, 1, encode_text(cbor.encode(value))), trust=trust, now=SOON
    )
    assert altered.verdict is Verdict.AMBER
    assert "differs" in altered.check("portrait", None).message
    assert "portrait" not in altered.documents[0].elements[ISO]


def test_compact_credential_as_mso_and_mso_as_compact_are_red(issued, trust, qingdao):
    from edl.mdoc import IssuerSigned
    from edl.verify import verify_issuer_signed

    # The mdoc's issuerAuth (signed by the same DS) put where a compact credential goes.
    mso_sign1 = cbor.encode(issued.mdoc.issuer_auth_value)
    frame = encode_text(
        make_frame(mso_sign1, device=KeySigner(ec.generate_private_key(ec.SECP256R1())), at=NOW)
    )
    result = verify_presentation([frame], trust=trust, now=SOON)
    assert result.verdict is Verdict.RED  # (too big for a frame, and of the wrong type)
    from edl.compact import decode_compact
    from edl.errors import UnsupportedError

    with pytest.raises(UnsupportedError) as e:
        decode_compact(mso_sign1)
    assert e.value.code == "wrong_type"
    result = verify_presentation(
        [make_frame(mso_sign1, device=KeySigner(ec.generate_private_key(ec.SECP256R1())), at=NOW)],
        trust=trust,
        now=SOON,
    )
    assert result.verdict is Verdict.RED
    # A compact credential put where the issuerAuth of an IssuerSigned goes.
    value = issued.mdoc.to_value()
    value["issuerAuth"] = cbor.decode(issued.compact["roadside"])
    swapped = verify_issuer_signed(cbor.encode(value), trust=[qingdao.root], now=SOON)
    assert swapped.verdict is Verdict.RED
    assert IssuerSigned.from_bytes(cbor.encode(value))  # parses: it is the checks that refuse it


@pytest.fixture(scope="module")
def other_wallet(qingdao, portrait_licence):
    _other, w2 = issue_to_wallet(qingdao, ec.generate_private_key(ec.SECP256R1()), portrait_licence)
    return w2


def test_main_frames_of_two_licences_are_red_not_an_exception(wallet, trust, other_wallet):
    mixed = wallet.frames("roadside", at=NOW) + other_wallet.frames("roadside", at=NOW)[:1]
    result = verify_presentation(mixed, trust=trust, now=SOON)
    structure = result.checks[0]
    assert result.verdict is Verdict.RED and not result.documents
    assert (structure.name, structure.status, structure.code) == (
        "structure",
        CheckStatus.FAILED,
        "mixed_carousel",
    )
    assert "scan one phone at a time" in structure.message.lower()
    assert isinstance(structure.error, MixedCarouselError) and structure.error.code == "mixed_carousel"
    assert all(c.status is CheckStatus.NOT_CHECKED for c in result.checks[1:])


def test_portrait_frames_of_another_licence_are_ignored(wallet, trust, other_wallet):
    # A hostile (or merely neighbouring) phone's portrait chunk among genuine frames: judged,
    # not an error; the genuine portrait still verifies and the structure check says so.
    mine = wallet.frames("roadside", at=NOW)
    theirs = other_wallet.frames("roadside", at=NOW)[1:]
    result = verify_presentation(mine + theirs, trust=trust, now=SOON)
    assert result.verdict is Verdict.GREEN, [c.to_json() for c in result.checks]
    assert f"{len(theirs)} portrait frame(s) of another licence ignored" in result.checks[0].message
    # Only foreign chunks: the portrait is missing (amber), nothing raises.
    result = verify_presentation(mine[:1] + theirs, trust=trust, now=SOON)
    assert result.verdict is Verdict.AMBER
    assert next(c for c in result.checks if c.name == "portrait").code == "portrait_missing"


@pytest.mark.parametrize(
    "text,code",
    [
        ("DL2:ABCD", "unsupported_version"),
        ("HC1:ABCD", "malformed"),
        ("DL1:abc", "malformed"),
        ("DL1:", "malformed"),
    ],
)
def test_unreadable_qr_is_red(text, code, trust):
    result = verify_presentation([text], trust=trust, now=SOON)
    assert result.verdict is Verdict.RED and result.check("structure", None).code == code


def test_every_bit_flip_of_the_main_frame_is_red(wallet, trust):
    payload = decode_text(wallet.frames("roadside", at=NOW)[0])
    buf = bytearray(payload)
    not_red = []
    for pos in range(len(buf)):
        for bit in range(8):
            buf[pos] ^= 1 << bit
            result = verify_presentation([bytes(buf)], trust=trust, now=SOON)
            buf[pos] ^= 1 << bit
            if result.verdict is not Verdict.RED:
                not_red.append((pos, bit, result.verdict.value))
    assert not not_red, not_red[:5]


def test_hostile_payloads_are_red_never_a_crash(trust):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=500))
    def fuzz(data):
        result = verify_presentation([data], trust=trust, now=SOON)
        assert result.verdict is Verdict.RED

    fuzz()
    assert base64  # (imported for readers of failing examples)


def test_a_validly_signed_credential_with_a_misshapen_profile_is_red(qingdao, phone, trust):
    # Anyone can craft the claims before any signature is checked: they must give red, not a crash.
    from edl import cose
    from edl.compact import CONTENT_TYPE, Claim

    claims = {
        Claim.CITY: "cn-qingdao",
        Claim.ISSUED: 1,
        Claim.VALID_UNTIL: 2,
        Claim.PROFILE: [1],
        Claim.DEVICE_KEY: b"",
    }
    cred = cose.sign1(
        KeySigner(qingdao.ds_key),
        cbor.encode({int(k): v for k, v in claims.items()}),
        protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE, cose.Header.KID: b"\x00" * 8},
    )
    frame = make_frame(cred, device=KeySigner(phone), at=NOW)
    assert verify_presentation([frame], trust=trust, now=SOON).verdict is Verdict.RED


def test_a_licence_without_age_over_18_derives_it(qingdao, phone):
    lj = licence_json(portrait=make_portrait(seed=2))
    del lj["age_over_18"]
    got = issue_licence(
        Licence.from_json(lj),
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
    )
    from edl.compact import decode_compact

    assert decode_compact(got.compact["age-check"]).elements()["age_over_18"] is True  # born 1990


@pytest.mark.parametrize("claimed,code", [("JP", "country_mismatch"), ("CN", "ok")])
def test_a_city_key_cannot_vouch_for_another_countrys_licence(qingdao, phone, claimed, code):
    # A city's own DS key signs a rental credential that also claims issuing_country: the QR
    # verifier binds it to the DS certificate's country exactly as the mdoc verifier does.
    from edl import cose
    from edl.compact import Claim, decode_compact, issue_compact

    licence = Licence.from_json(licence_json())
    genuine = issue_compact(
        licence,
        profile="rental",
        city="cn-qingdao",
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(qingdao.ds_key), qingdao.ds),
        now=NOW,
        valid_until=NOW + dt.timedelta(days=30),
    )
    parsed = decode_compact(genuine)
    claims = cbor.decode(parsed.sign1.payload)
    claims[int(Claim.ISSUING_COUNTRY)] = claimed
    forged = cose.sign1(
        KeySigner(qingdao.ds_key),
        cbor.encode(claims),
        protected={k: v for k, v in parsed.sign1.protected.items() if k != cose.Header.ALG},
    )
    frame = make_frame(forged, device=KeySigner(phone), at=NOW)
    trust = make_trust_list({"cn-qingdao": (qingdao, "CN")})
    result = verify_presentation([encode_text(frame)], trust=trust, now=SOON)
    assert result.check("issuing_country", None).code == code
    assert result.verdict is (Verdict.RED if code != "ok" else Verdict.GREEN)
    if code != "ok":
        assert "its signer is from CN" in result.check("issuing_country", None).message
