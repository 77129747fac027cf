"""Hostile bytes and files give a red result or an ``EdlError``, never another exception.

Each test here is a regression of one finding of the outside review (issue #8, item 4): the
input that made ``edl`` raise something else, and the typed answer it gives now.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl import cbor, cose
from edl.compact import CONTENT_TYPE, decode_compact
from edl.errors import MalformedError, UnsupportedError, safe_repr
from edl.mdoc import DeviceResponse, IssuerSigned
from edl.mdoc.items import IssuerSignedItem
from edl.mdoc.mso import MobileSecurityObject, StatusReference
from edl.presentation import FRAME_CONTENT_TYPE, encode_text, parse_payload
from edl.verify import CheckStatus, Verdict, verify_device_response, verify_issuer_signed
from edltest import NOW

HUGE = 10**5000  # more digits than Python's int -> str limit (4,300): str(HUGE) raises ValueError
YEAR_10000 = 253_402_300_800  # first epoch second datetime cannot hold; still < 2**40


# --- 1. untrusted values in messages ------------------------------------------------------


def test_device_response_version_bignum_is_unsupported():
    with pytest.raises(UnsupportedError, match="integer of 16610 bits"):
        DeviceResponse.from_bytes(cbor.encode({"version": HUGE, "status": 0}))


def test_device_response_status_bignum_is_red(city):
    data = cbor.encode({"version": "1.0", "status": HUGE})
    result = verify_device_response(data, trust=[city.root], now=NOW, issuer_only=True)
    assert result.verdict is Verdict.RED
    assert result.checks[0].code == "no_documents" and "integer of" in result.checks[0].message


def _sign1_bytes(protected: dict, unprotected: dict | None = None) -> bytes:
    return cbor.encode([cbor.encode(protected), unprotected or {}, b"payload", b"\x00" * 64])


def test_cose_alg_bignum_is_unsupported():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(UnsupportedError, match="algorithm <integer of"):
        cose.decode_sign1(_sign1_bytes({1: HUGE})).verify(key)


def test_cose_header_label_bignum_in_both_buckets_is_malformed():
    with pytest.raises(MalformedError, match="in both buckets"):
        cose.decode_sign1(_sign1_bytes({1: -7, HUGE: 1}, {HUGE: 2}))


def test_cose_crit_bignum_is_unsupported():
    with pytest.raises(UnsupportedError, match="critical header"):
        cose.decode_sign1(_sign1_bytes({1: -7, 2: [HUGE], HUGE: 0}))


@pytest.mark.parametrize(
    "cose_key",
    [{1: HUGE, -1: 1}, {1: 2, -1: HUGE}, {1: HUGE, -1: "P-256"}, {1: 1, -1: HUGE}],
    ids=["kty", "ec2-crv", "kty-with-text-crv", "okp-crv"],
)
def test_cose_key_bignum_params_are_unsupported(cose_key):
    with pytest.raises(UnsupportedError, match="integer of"):
        cose.key_from_cose(cose_key)


def test_issuer_signed_unknown_field_bignum_is_malformed():
    with pytest.raises(MalformedError, match="unexpected fields"):
        IssuerSigned.from_value({"issuerAuth": [], HUGE: 1})


def test_issuer_signed_item_unknown_field_bignum_is_malformed():
    item = {"digestID": 1, "random": b"r" * 16, "elementIdentifier": "x", "elementValue": 1, HUGE: 0}
    with pytest.raises(MalformedError, match="unexpected fields"):
        IssuerSignedItem.from_value(cbor.wrap24(cbor.encode(item)), namespace="org.iso.18013.5.1")


@pytest.mark.parametrize("field", ["version", "digestAlgorithm"])
def test_mso_version_or_digest_algorithm_bignum_is_unsupported(field):
    value = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "valueDigests": {},
        "deviceKeyInfo": {},
        "docType": "x",
        "validityInfo": {},
        field: HUGE,
    }
    with pytest.raises(UnsupportedError, match="integer of"):
        MobileSecurityObject.from_value(value)


def test_signed_status_index_bignum_is_judged(city, device_key, licence):
    # A city that signs a nonsense status index: the verifier still answers (amber/red), and
    # the status message shows the index by its size.
    from edl.cose import KeySigner
    from edl.issue import issue_mdoc

    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
        status=StatusReference(idx=HUGE, uri="https://status.example/1"),
    )
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    status = next(c for c in result.checks if c.name == "status")
    assert status.code == "status_missing"  # judged (amber: no such list here), not a crash


def test_unknown_qr_version_message_is_bounded():
    from edl.presentation import decode_text

    with pytest.raises(UnsupportedError) as caught:
        decode_text("DL" + "7" * 100_000 + ":ABC")
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    "value",
    [
        HUGE,
        -HUGE,
        [HUGE] * 1000,
        {HUGE: HUGE},
        "x" * 1_000_000,
        b"\x00" * 1_000_000,
        cbor.CBORTag(2**64 - 1, HUGE),
        1.5,
        None,
        frozenset({1, 2}),
        dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
    ],
    ids=safe_repr,
)
def test_safe_repr_is_short_and_never_raises(value):
    assert 0 < len(safe_repr(value)) <= 60
    assert 0 < len(safe_repr(value, limit=200)) <= 200


def test_safe_repr_survives_deep_nesting():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert safe_repr(deep) == "[[[[…]]]]"


# --- 2. times beyond the year 9999 --------------------------------------------------------


def _frame(credential: bytes, signed_at: int) -> bytes:
    device = cose.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    payload = cbor.encode([credential, signed_at, None])
    return cose.sign1(device, payload, protected={cose.Header.CONTENT_TYPE: FRAME_CONTENT_TYPE})


def _compact(issued: int, valid_until: int) -> bytes:
    ds = cose.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    phone = ec.generate_private_key(ec.SECP256R1()).public_key()
    from cryptography.hazmat.primitives import serialization

    claims = {
        1: "cn-qingdao",
        2: issued,
        3: valid_until,
        5: phone.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint),
        6: 3,  # rental: no portrait
    }
    return cose.sign1(
        ds, cbor.encode(claims), protected={cose.Header.CONTENT_TYPE: CONTENT_TYPE, cose.Header.KID: b"k" * 8}
    )


def test_frame_signed_after_year_9999_is_malformed():
    good = _compact(1_780_300_800, 1_800_000_000)
    assert parse_payload(_frame(good, 1_780_300_800)).signed_at.year == 2026
    with pytest.raises(MalformedError, match="epoch seconds"):
        parse_payload(_frame(good, YEAR_10000))
    assert parse_payload(_frame(good, YEAR_10000 - 1)).signed_at == dt.datetime(
        9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("issued,valid_until", [(YEAR_10000, YEAR_10000 + 1), (1_780_300_800, YEAR_10000)])
def test_compact_credential_times_after_year_9999_are_malformed(issued, valid_until):
    with pytest.raises(MalformedError, match="epoch seconds"):
        decode_compact(_compact(issued, valid_until))


def test_garbage_frame_text_is_red_not_a_crash(trust_list_one_city):
    from edl.verify_qr import verify_presentation

    text = encode_text(_frame(_compact(1_780_300_800, 1_800_000_000), YEAR_10000))
    result = verify_presentation([text], trust=trust_list_one_city, now=NOW)
    assert result.verdict is Verdict.RED
    assert (result.checks[0].name, result.checks[0].status, result.checks[0].code) == (
        "structure",
        CheckStatus.FAILED,
        "malformed",
    )


@pytest.fixture(scope="module")
def trust_list_one_city(city):
    from edltest import make_trust_list

    return make_trust_list({"cn-qingdao": (city, "CN")})


@pytest.mark.parametrize(
    "text",
    ["9999-12-31T23:59:59-23:59", "9999-12-31T23:00:00-01:00", "0001-01-01T00:30:00+01:00"],
)
def test_tdate_that_has_no_utc_datetime_is_malformed(text):
    # cbor2 gave back a datetime whose astimezone(UTC) raised OverflowError later (a VICAL's
    # dates, the JSON output of a date-time element).
    with pytest.raises(MalformedError, match="years 1 and 9999"):
        cbor.decode(cbor.encode(cbor.CBORTag(0, text)))


def test_tdate_at_the_edges_still_decodes():
    latest = cbor.decode(cbor.encode(cbor.CBORTag(0, "9999-12-31T23:59:59Z")))
    assert latest == dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    east = cbor.decode(cbor.encode(cbor.CBORTag(0, "2026-06-01t08:00:00+08:00")))
    assert east.astimezone(dt.UTC) == dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)


def test_tdate_encoder_refuses_a_time_without_utc_form():
    minus5 = dt.timezone(dt.timedelta(hours=-5))
    with pytest.raises(ValueError, match="years 1 to 9999"):
        cbor.tdate(dt.datetime(9999, 12, 31, 23, 0, tzinfo=minus5))


def test_licence_date_time_without_utc_form_is_a_licence_error():
    from edl.model import Licence, LicenceError
    from edltest import licence_json

    data = licence_json() | {"portrait_capture_date": "9999-12-31T23:59:59-05:00"}
    with pytest.raises(LicenceError, match="portrait_capture_date: the time falls outside"):
        Licence.from_json(data)


# --- 3. PEM and DER files cryptography cannot load ----------------------------------------

_EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey
_UNKNOWN_OID = bytes.fromhex("06072a8648ce3d0209")


def _pem(label: str, der: bytes) -> bytes:
    import base64

    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


def _unknown_algorithm_private_pem() -> bytes:
    """A PKCS#8 key whose algorithm OID nobody knows: cryptography raises UnsupportedAlgorithm."""
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return _pem("PRIVATE KEY", der.replace(_EC_PUBLIC_KEY_OID, _UNKNOWN_OID))


def _unknown_algorithm_public_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization

    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return _pem("PUBLIC KEY", der.replace(_EC_PUBLIC_KEY_OID, _UNKNOWN_OID))


def _version_7_certificate_der(city) -> bytes:
    """The city root with X.509 version 7: cryptography raises InvalidVersion."""
    from edl.x509 import certificate_der

    der = certificate_der(city.root)
    at = der.index(bytes.fromhex("a003020102"))  # [0] EXPLICIT INTEGER 2 (v3)
    return der[:at] + bytes.fromhex("a003020107") + der[at + 5 :]


@pytest.mark.parametrize("form", ["pem", "der"])
def test_cli_trust_anchor_with_invalid_version_exits_2(form, city, tmp_path, capsys):
    from edltest import run_cli

    der = _version_7_certificate_der(city)
    anchor = tmp_path / "anchor.crt"
    anchor.write_bytes(_pem("CERTIFICATE", der) if form == "pem" else der)
    response = tmp_path / "response.cbor"
    response.write_bytes(b"\xa0")
    code, _, err = run_cli(capsys, "mdoc", "verify", str(response), "--trust-anchor", str(anchor))
    assert code == 2 and err.count("\n") == 1
    assert "holds no readable certificate" in err and "Traceback" not in err


def test_cli_private_key_of_unknown_algorithm_exits_2(tmp_path, capsys):
    from edltest import run_cli

    key = tmp_path / "phone.key.pem"
    key.write_bytes(_unknown_algorithm_private_pem())
    code, _, err = run_cli(
        capsys, "wallet", "qr", str(tmp_path), "--device-key", str(key), "--out", str(tmp_path / "f")
    )
    assert code == 2 and err.count("\n") == 1
    assert "Unknown key type" in err and "EC (P-256" in err


def test_cli_public_key_of_unknown_algorithm_is_a_usage_error(tmp_path):
    from edl.cli.common import UsageError, load_public_key

    key = tmp_path / "phone.pub.pem"
    key.write_bytes(_unknown_algorithm_public_pem())
    with pytest.raises(UsageError, match="Unknown key type"):
        load_public_key(str(key))


def test_cli_certificate_of_invalid_version_is_a_usage_error(city, tmp_path):
    from edl.cli.common import UsageError, load_certificate_pem

    cert = tmp_path / "ds.pem"
    cert.write_bytes(_pem("CERTIFICATE", _version_7_certificate_der(city)))
    with pytest.raises(UsageError, match="not a valid X509 version"):
        load_certificate_pem(str(cert))


def test_trust_anchors_from_pem_with_invalid_version_is_malformed(city):
    from edl.x509 import TrustAnchors

    with pytest.raises(MalformedError, match="no readable certificate"):
        TrustAnchors.from_pem(_pem("CERTIFICATE", _version_7_certificate_der(city)))


def test_key_store_key_of_unknown_algorithm_is_a_key_store_error(tmp_path):
    from edl.errors import KeyStoreError
    from edl.keys import FileKeyStore

    store = FileKeyStore(tmp_path, b"a passphrase")
    store.generate("k")
    (tmp_path / "k.key.pem").write_bytes(_unknown_algorithm_private_pem())
    with pytest.raises(KeyStoreError, match="cannot unlock key k"):
        FileKeyStore(tmp_path, b"a passphrase").signer("k")


def test_city_certificate_damaged_is_a_key_store_error(city, tmp_path):
    from edl.city import CityAdmin
    from edl.errors import KeyStoreError
    from edl.keys import FileKeyStore

    admin = CityAdmin(tmp_path, FileKeyStore(tmp_path / "keys", b"a passphrase"))
    admin.init("cn-qingdao", name="Qingdao", country="CN", now=NOW)
    root = tmp_path / "cities" / "cn-qingdao" / "root-1.pem"
    root.write_bytes(_pem("CERTIFICATE", _version_7_certificate_der(city)))
    with pytest.raises(KeyStoreError, match="root-1.pem is not a readable PEM certificate"):
        admin.certificate("cn-qingdao", "root-1.pem")


# --- 5. a damaged kdf.json ----------------------------------------------------------------

_GOOD_KDF = {"kdf": "scrypt", "salt": "00" * 16, "n": 2**15, "r": 8, "p": 1}


def _unlock_with_kdf(folder, content: bytes | None) -> None:
    """Open a key store whose kdf.json holds ``content`` and use its key ``k``."""
    from edl.keys import FileKeyStore

    (folder / "k.key.pem").write_bytes(_unknown_algorithm_private_pem())  # never reached
    if content is not None:
        (folder / "kdf.json").write_bytes(content)
    FileKeyStore(folder, b"a passphrase").signer("k")


@pytest.mark.parametrize(
    "content",
    [
        b"[]",  # AttributeError before
        b'{"kdf": "scrypt"}',  # KeyError before
        b'{"kdf": "scrypt", "salt": "' + b"00" * 16 + b'", "n": 1e400, "r": 8, "p": 1}',  # OverflowError
        b'{"kdf": "scrypt", "salt": "zz", "n": 32768, "r": 8, "p": 1}',
        b'{"kdf": "scrypt", "salt": "' + b"00" * 16 + b'", "n": "32768", "r": 8, "p": 1}',
        b'{"kdf": "scrypt", "salt": "' + b"00" * 16 + b'", "n": 1000, "r": 8, "p": 1}',
        b'{"kdf": ["scrypt"], "salt": "' + b"00" * 16 + b'", "n": 32768, "r": 8, "p": 1}',
        b"[" * 100_000,
        b"\xff\xfe",
    ],
    ids=["list", "missing", "inf", "salt", "text-n", "n-not-power-of-2", "kdf-list", "deep", "not-utf8"],
)
def test_damaged_kdf_json_is_a_key_store_error(content, tmp_path):
    from edl.errors import KeyStoreError

    with pytest.raises(KeyStoreError, match=r"kdf\.json is damaged .*restore it from a backup"):
        _unlock_with_kdf(tmp_path, content)


@pytest.mark.parametrize(
    "change",
    [{"n": 2**40}, {"n": 2**20}, {"r": 2**20}, {"p": 2**30}, {"n": 2**17, "r": 16}, {"n": 2**17, "p": 4}],
    ids=["n-2^40", "n-2^20", "r", "p", "memory", "work"],
)
def test_kdf_json_asking_for_hours_of_scrypt_is_refused_at_once(change, tmp_path):
    import json
    import time

    from edl.errors import KeyStoreError

    started = time.monotonic()
    with pytest.raises(KeyStoreError, match="kdf.json is damaged"):
        _unlock_with_kdf(tmp_path, json.dumps(_GOOD_KDF | change).encode())
    assert time.monotonic() - started < 0.05


def test_kdf_json_that_is_a_directory_is_a_key_store_error(tmp_path):
    from edl.errors import KeyStoreError

    (tmp_path / "kdf.json").mkdir()
    with pytest.raises(KeyStoreError, match="cannot read .*kdf.json"):
        _unlock_with_kdf(tmp_path, None)


def test_kdf_json_as_written_still_unlocks(tmp_path):
    from edl.keys import FileKeyStore

    public = FileKeyStore(tmp_path, b"a passphrase").generate("k")
    assert FileKeyStore(tmp_path, b"a passphrase").public_key("k") == public


# --- 4. portraits -------------------------------------------------------------------------


def _jpeg(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, format="JPEG")
    return out.getvalue()


def _claimed_size(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with its SOF0 header claiming another size (the scan data stays as it was)."""
    at = jpeg.index(b"\xff\xc0") + 5  # marker, length (2), precision (1), then height, width
    return jpeg[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 4 :]


@pytest.mark.parametrize(
    "portrait,message",
    [
        (b"\xff\xd8\xff\xe0" + b"not a picture" * 10, "not a JPEG or JPEG 2000 image"),
        (_jpeg(64, 64)[:-40], "not a JPEG or JPEG 2000 image"),  # truncated
        (_claimed_size(_jpeg(8, 8), 65_000, 65_000), "too large to decode"),  # decompression bomb
        (_claimed_size(_jpeg(8, 8), 3000, 2000), "3000x2000 pixels"),  # refused before decoding
        (b"\xff\xd8\xff" + b"\x00" * (512 * 1024), "more than 512 KiB"),
    ],
    ids=["not-an-image", "truncated", "bomb", "too-wide", "too-big"],
)
def test_licence_portrait_is_decoded_whole_when_read(portrait, message):
    from edl.model import Licence, LicenceError
    from edltest import licence_json

    with pytest.raises(LicenceError, match=message) as caught:
        Licence.from_json(licence_json(portrait=portrait))
    assert caught.value.field == "portrait"


def test_issuing_a_portrait_pillow_cannot_read_is_a_licence_error(city, device_key, licence):
    # A Licence built directly (not from JSON) with bytes that only look like a JPEG: issuing the
    # QR credentials raised PIL.UnidentifiedImageError from the thumbnail.
    from edl.credentials import issue_licence
    from edl.issue import DocumentSigner
    from edl.model import Licence, LicenceError

    bad = Licence(elements={**licence.elements, "portrait": b"\xff\xd8\xff\xe0 not a picture"})
    with pytest.raises(LicenceError, match="portrait"):
        issue_licence(
            bad,
            city="cn-qingdao",
            device_key=device_key.public_key(),
            signer=DocumentSigner(cose.KeySigner(city.ds_key), city.ds),
            now=NOW,
        )


def test_a_real_portrait_is_still_accepted():
    from edl.demo import make_portrait
    from edl.model import Licence, check_portrait
    from edltest import TINY_JPEG, licence_json

    assert check_portrait(TINY_JPEG) == (1, 1)
    assert Licence.from_json(licence_json(portrait=make_portrait())).portrait.startswith(b"\xff\xd8")


# --- 7. the CLI's last resort ------------------------------------------------------------


@pytest.mark.parametrize(
    "error,shown",
    [
        (RuntimeError("the\ndisk\tmoved"), "the disk moved"),
        (KeyError(HUGE), "<integer of 16610 bits>"),
        (ValueError("x" * 10_000), "x" * 159 + "…"),
        (type("PanicException", (BaseException,), {})("rust panicked"), "rust panicked"),
    ],
    ids=["multi-line", "bignum", "long", "rust-panic-is-a-base-exception"],
)
def test_cli_unexpected_exception_is_one_line_and_exit_70(error, shown, monkeypatch, capsys):
    from edl.cli import demo
    from edltest import run_cli

    def boom(args):
        raise error

    monkeypatch.setattr(demo, "cmd_demo", boom)
    code, out, err = run_cli(capsys, "demo", "--out", "/nonexistent")
    assert code == 70 and out == ""
    assert err == f"edl: internal error ({type(error).__name__}), please report it: {shown}\n"


# --- 8. files on the command line ---------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"family_name": ' + b"9" * 5000 + b"}", b"\xff\xfe{}"],
    ids=["deep", "bignum", "not-utf8"],
)
@pytest.mark.parametrize("command", ["mdoc issue", "issue"])
def test_cli_licence_json_that_python_cannot_load_exits_2(command, content, tmp_path, capsys):
    from edltest import run_cli

    licence = tmp_path / "licence.json"
    licence.write_bytes(content)
    rest = ["--device-key", "k.pem", "--out", str(tmp_path / "out")]
    if command == "issue":
        rest += ["--city", "cn-x", "--keystore", str(tmp_path / "ks")]
    code, _, err = run_cli(capsys, *command.split(), "--licence", str(licence), *rest)
    assert code == 2 and err.count("\n") == 1 and "is not JSON" in err


@pytest.mark.parametrize(
    "manifest",
    [
        b"[]",
        b'{"city": "x", "profiles": 7}',
        b'{"city": "x", "profiles": ["../../elsewhere"]}',
        b"[" * 100_000,
    ],
    ids=["list", "profiles-not-a-list", "path-in-profile", "deep"],
)
def test_cli_wallet_with_a_damaged_credential_manifest_exits_2(manifest, tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization

    from edltest import run_cli

    key = tmp_path / "phone.key.pem"
    key.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cred = tmp_path / "cred"
    cred.mkdir()
    (cred / "credential.json").write_bytes(manifest)
    code, _, err = run_cli(
        capsys, "wallet", "qr", str(cred), "--device-key", str(key), "--out", str(tmp_path)
    )
    assert code == 2 and err.count("\n") == 1 and "is not a credential manifest" in err


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_cli_prints_an_issuer_signed_bignum_without_crashing(
    as_json, city, device_key, licence, tmp_path, capsys
):
    # A city namespace may carry any value the issuer signed; printing it (str, json.dumps) must
    # not hit Python's 4,300-digit limit.
    from cryptography.hazmat.primitives import serialization

    from edl.cose import KeySigner
    from edl.issue import issue_mdoc
    from edl.model import Licence
    from edltest import run_cli

    odd = Licence(elements=licence.elements, extra={"cn.qingdao.1": {"big": HUGE}})
    issued = issue_mdoc(
        odd,
        device_key=device_key.public_key(),
        signer=KeySigner(city.ds_key),
        signer_certificate=city.ds,
        now=NOW,
    )
    (tmp_path / "issued.cbor").write_bytes(issued.to_bytes())
    (tmp_path / "root.pem").write_bytes(city.root.public_bytes(serialization.Encoding.PEM))
    argv = ["mdoc", "verify", str(tmp_path / "issued.cbor"), "--trust-anchor", str(tmp_path / "root.pem")]
    argv += ["--issuer-only", "--at", NOW.isoformat()] + (["--json"] if as_json else [])
    code, out, err = run_cli(capsys, *argv)
    assert code == 3, err
    assert "<integer of 16610 bits>" in out


# --- 1 (trust lists). numbers that go into messages are bounded when parsed ------------------


def test_trust_list_sequence_bignum_is_malformed():
    # Even an operator-signed list: the sequence went into "trust list #<sequence>" before any
    # signature was checked, and str() of it raised ValueError.
    from edl.trust import TrustList, TrustRoot, operator_key_id, sign_root, sign_trust_list, verify_trust_list

    op = cose.KeySigner(ec.generate_private_key(ec.SECP256R1()))
    root = TrustRoot(
        name="OPS",
        version=1,
        threshold=1,
        keys={operator_key_id(op.public_key()): op.public_key()},
        expires=NOW + dt.timedelta(days=365),
    )
    tl = TrustList(
        provider="OPS",
        sequence=HUGE,
        issued=NOW,
        next_update=NOW + dt.timedelta(days=1),
        expires=NOW + dt.timedelta(days=7),
        root_version=1,
        cities=(),
    )
    data = sign_trust_list(tl, [op], [sign_root(root, [op])])
    with pytest.raises(MalformedError, match="sequence must be an unsigned integer below 2"):
        verify_trust_list(data, [root], now=NOW)


@pytest.mark.parametrize(
    "at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:30Z"]
)
def test_cli_time_at_the_end_of_the_calendar_exits_2(at, tmp_path, capsys):
    from edltest import run_cli

    (tmp_path / "in.cbor").write_bytes(b"\xa0")
    code, _, err = run_cli(
        capsys, "mdoc", "verify", str(tmp_path / "in.cbor"), "--trust-anchor", "x", "--at", at
    )
    assert code == 2 and "outside the years 1970 to 9998" in err
