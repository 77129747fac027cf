"""The conveniences of the front door (issue #13): opening a key-store folder, building a
SessionTranscript, and camera images to a verdict in one call."""

from __future__ import annotations

import datetime as dt
import io
import json
import stat

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from edl import (
    CityAdmin,
    EdlError,
    FileKeyStore,
    KeySigner,
    KeyStoreError,
    MalformedError,
    Pkcs11KeyStore,
    QrVerificationResult,
    Verdict,
    cbor,
    cose,
    issue_mdoc,
    nonce_transcript,
    open_key_store,
    respond,
    session_transcript,
    verify_device_response,
    verify_images,
    verify_presentation,
)
from edl.mdoc import SessionTranscript
from edl.qr import render_png
from edltest import NOW, issue_to_wallet, make_trust_list

ISO = "org.iso.18013.5.1"

# --- open_key_store ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def city_folder(tmp_path_factory):
    """A key-store folder laid out as `edl city init` makes it (keys in FOLDER/keys/)."""
    folder = tmp_path_factory.mktemp("qingdao")
    CityAdmin(folder, FileKeyStore(folder / "keys", b"pass phrase")).init(
        "cn-qingdao", name="Qingdao", country="CN", now=NOW
    )
    return folder


def test_open_key_store_gives_the_city_signer(city_folder, device_key, licence):
    store = open_key_store(city_folder, passphrase="pass phrase")  # text is taken as UTF-8
    assert isinstance(store, FileKeyStore)
    signer = CityAdmin(city_folder, store).document_signer("cn-qingdao")
    issued = issue_mdoc(licence, device_key=device_key.public_key(), signer=signer, now=NOW)
    assert issued.mso().doc_type == "org.iso.18013.5.1.mDL"
    assert open_key_store(city_folder, passphrase=b"pass phrase").names() == store.names()


def test_open_key_store_wrong_passphrase_fails_at_first_use(city_folder):
    store = open_key_store(city_folder, passphrase="wrong")
    with pytest.raises(KeyStoreError) as e:
        store.check_unlock()
    assert e.value.code == "key_store_locked"


def test_open_key_store_refusals(tmp_path, city_folder):
    with pytest.raises(KeyStoreError, match="no key store"):
        open_key_store(tmp_path / "absent", passphrase="x")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(KeyStoreError, match="it is a file"):
        open_key_store(tmp_path / "file", passphrase="x")
    with pytest.raises(ValueError, match="passphrase"):
        open_key_store(city_folder)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "keystore.json").write_text('{"backend": "pkcs11"}')
    with pytest.raises(KeyStoreError, match="damaged"):
        open_key_store(damaged, pin="1234")


def test_open_key_store_create_makes_a_private_folder(tmp_path):
    store = open_key_store(tmp_path / "new", passphrase="pass phrase", create=True)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    store.generate("k")
    assert (tmp_path / "new" / "keys" / "k.key.pem").exists()


def test_open_key_store_pkcs11_folder(tmp_path, softhsm):
    folder = tmp_path / "hsm-city"
    folder.mkdir()
    (folder / "keystore.json").write_text(
        json.dumps({"backend": "pkcs11", "module": softhsm.module, "token": "edl-test"})
    )
    with pytest.raises(ValueError, match="PIN"):
        open_key_store(folder, passphrase="a passphrase is not a PIN")
    store = open_key_store(folder, pin="1234")
    assert isinstance(store, Pkcs11KeyStore)
    store.check_unlock()


# --- SessionTranscript -----------------------------------------------------------------------


def test_nonce_transcript_bytes():
    nonce = bytes(range(16))
    t = nonce_transcript(nonce)
    assert t.raw == bytes.fromhex("83f6f6826365646c50") + nonce  # [null, null, ["edl", h'00..0f']]
    assert SessionTranscript.from_bytes(t.tagged) == t
    assert nonce_transcript(nonce, context="edl-demo").raw == cbor.encode([None, None, ["edl-demo", nonce]])


@pytest.mark.parametrize("nonce", [b"", b"short nonce", "sixteen chars ok"])
def test_nonce_transcript_refuses_a_weak_nonce(nonce):
    with pytest.raises(ValueError, match="16 random bytes"):
        nonce_transcript(nonce)


def test_session_transcript_is_iso_9_1_5_1():
    engagement = cbor.encode({0: "1.0", 1: [1, cbor.wrap24(b"\xa0")]})
    reader = ec.generate_private_key(ec.SECP256R1())
    t = session_transcript(engagement, reader.public_key())
    value = cbor.decode(t.raw)
    assert value[0] == cbor.wrap24(engagement)
    assert cose.key_from_cose(cbor.decode(value[1].value)) == reader.public_key()
    assert value[2] is None
    # The phone builds it from the EReaderKey bytes it received: the same transcript.
    assert session_transcript(engagement, value[1].value) == t
    nfc = session_transcript(engagement, reader.public_key(), handover=(b"select", None))
    assert cbor.decode(nfc.raw)[2] == [b"select", None]


def test_session_transcript_refuses_unreadable_parts():
    reader = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(MalformedError):
        session_transcript(b"\xff\x00", reader)
    with pytest.raises(EdlError):  # (UnsupportedError: not a key type edl accepts)
        session_transcript(cbor.encode({}), cbor.encode({1: 2}))
    with pytest.raises(TypeError):
        session_transcript(cbor.encode({}), reader, handover=("select", None))  # type: ignore[arg-type]


def test_a_response_binds_to_its_transcript(city, device_key, issued):
    ours = nonce_transcript(b"n" * 16)
    response = respond(issued, device_key=KeySigner(device_key), transcript=ours).to_bytes()
    good = verify_device_response(response, trust=[city.root], now=NOW, transcript=ours)
    assert good.verdict is Verdict.GREEN
    replayed = verify_device_response(
        response, trust=[city.root], now=NOW, transcript=nonce_transcript(b"m" * 16)
    )
    assert replayed.verdict is Verdict.RED
    assert replayed.check("device_auth").code == "not_holder"


# --- verify_images -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def carousel(city, licence):
    phone = ec.generate_private_key(ec.SECP256R1())
    _, wallet = issue_to_wallet(city, phone, licence)
    texts = wallet.frames("roadside", at=NOW)
    return texts, [render_png(t) for t in texts]


@pytest.fixture(scope="module")
def trust(city):
    return make_trust_list({"cn-qingdao": (city, "CN")})


def _codes(result):
    return [(c.name, c.status, c.code) for c in result.checks]


def test_images_give_the_verdict_of_their_texts(carousel, trust):
    texts, pngs = carousel
    result = verify_images(pngs, trust=trust, now=NOW)
    assert result.verdict is Verdict.GREEN
    assert _codes(result) == _codes(verify_presentation(texts, trust=trust, now=NOW))
    assert result.documents[0].elements[ISO]["family_name"] == "Zhang"


def test_one_image_alone_and_in_other_forms(carousel, trust):
    _, pngs = carousel
    main = pngs[0]
    alone = verify_images(main, trust=trust, now=NOW)  # one image, not in a list
    assert alone.verdict is Verdict.AMBER and alone.check("portrait").code == "portrait_missing"
    assert alone.portrait_pending  # authentic: only the portrait frames are still to be read
    as_pil = Image.open(io.BytesIO(main))
    assert _codes(verify_images(as_pil, trust=trust, now=NOW)) == _codes(alone)
    as_array = np.asarray(as_pil.convert("L"), dtype=np.uint8)
    assert _codes(verify_images([as_array], trust=trust, now=NOW)) == _codes(alone)


def test_the_same_frame_twice_counts_once(carousel, trust):
    _, pngs = carousel
    assert verify_images([*pngs, pngs[0]], trust=trust, now=NOW).verdict is Verdict.GREEN


def test_a_frame_without_a_code_is_red_no_frame(carousel, trust):
    blank = io.BytesIO()
    Image.new("L", (640, 480), 200).save(blank, "PNG")
    result = verify_images([blank.getvalue()], trust=trust, now=NOW)
    assert result.verdict is Verdict.RED
    assert result.check("structure").code == "no_frame"
    assert isinstance(result, QrVerificationResult) and not result.portrait_pending
    # One check per step, as verify_presentation gives for portrait frames without a main frame.
    _, pngs = carousel
    only_portrait = verify_images(pngs[1:], trust=trust, now=NOW)
    assert only_portrait.check("structure").code == "no_frame"
    assert [c.name for c in result.checks] == [c.name for c in only_portrait.checks]
    assert [c.status for c in result.checks[1:]] == [c.status for c in only_portrait.checks[1:]]


def test_stale_images_are_red(carousel, trust):
    _, pngs = carousel
    result = verify_images(pngs, trust=trust, now=NOW + dt.timedelta(minutes=5))
    assert result.verdict is Verdict.RED and not result.portrait_pending
    assert result.check("freshness").code == "stale_qr"


def test_an_unreadable_image_is_malformed_and_named(carousel, trust):
    _, pngs = carousel
    with pytest.raises(MalformedError, match="image 2"):
        verify_images([pngs[0], b"\x89PNG\r\n\x1a\n garbage"], trust=trust, now=NOW)


def test_now_must_be_aware(trust):
    blank = io.BytesIO()
    Image.new("L", (64, 64), 200).save(blank, "PNG")
    with pytest.raises(ValueError, match="timezone"):
        verify_images(blank.getvalue(), trust=trust, now=NOW.replace(tzinfo=None))
