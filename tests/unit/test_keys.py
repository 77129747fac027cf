"""Key stores: encrypted files (the embedded default) and PKCS#11 on a real SoftHSM2 token."""

from __future__ import annotations

import stat

import pytest

from edl import cose
from edl.errors import KeyStoreError
from edl.keys import FileKeyStore, Pkcs11KeyStore, check_key_name

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def test_file_store_creates_0600_encrypted_keys(tmp_path):
    store = FileKeyStore(tmp_path / "ks", b"pass phrase")
    pub = store.generate("ds-1")
    path = tmp_path / "ks" / "ds-1.key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ks").stat().st_mode) == 0o700
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert "ds-1" in store and store.names() == ["ds-1"]
    msg = cose.sign1(store.signer("ds-1"), b"payload")
    assert cose.decode_sign1(msg).verify(pub).payload == b"payload"


def test_file_store_password_is_scrypt_of_the_passphrase(tmp_path):
    """cryptography's PKCS#8 uses only 2,048 PBKDF2 rounds: the passphrase alone must not open
    a key file; scrypt(passphrase, salt) does."""
    import base64
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    store = FileKeyStore(tmp_path, b"pass phrase")
    store.generate("k")
    pem = (tmp_path / "k.key.pem").read_bytes()
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, password=b"pass phrase")
    params = json.loads((tmp_path / "kdf.json").read_text())
    assert params["kdf"] == "scrypt" and params["n"] >= 2**15
    derived = Scrypt(
        salt=bytes.fromhex(params["salt"]), length=32, n=params["n"], r=params["r"], p=params["p"]
    )
    key = serialization.load_pem_private_key(pem, password=base64.b64encode(derived.derive(b"pass phrase")))
    assert key.public_key() == store.public_key("k")


def test_file_store_never_overwrites(tmp_path):
    store = FileKeyStore(tmp_path, b"pw")
    store.generate("root")
    before = (tmp_path / "root.key.pem").read_bytes()
    with pytest.raises(KeyStoreError, match="already exists"):
        store.generate("root")
    assert (tmp_path / "root.key.pem").read_bytes() == before


def test_file_store_wrong_passphrase(tmp_path):
    FileKeyStore(tmp_path, b"right").generate("k")
    with pytest.raises(KeyStoreError) as e:
        FileKeyStore(tmp_path, b"wrong").signer("k")
    assert e.value.code == "key_store_locked"
    assert "right" not in str(e.value)


def test_file_store_missing_key(tmp_path):
    with pytest.raises(KeyStoreError, match="no key nope"):
        FileKeyStore(tmp_path, b"pw").signer("nope")


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "x" * 200, "a..b"])
def test_key_names_are_file_safe(name):
    with pytest.raises(ValueError):
        check_key_name(name)


def test_repr_shows_no_secret(tmp_path):
    store = FileKeyStore(tmp_path, b"s3cret-passphrase")
    store.generate("k")
    for obj in (store, store.signer("k")):
        assert "s3cret" not in repr(obj) and "PRIVATE" not in repr(obj)


# --- PKCS#11 (SoftHSM2) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hsm(softhsm):
    store = Pkcs11KeyStore(softhsm.module, "edl-test", "1234")
    yield store
    store.close()


def test_hsm_key_is_non_extractable_and_signs(hsm):
    import pkcs11

    pub = hsm.generate("ds-hsm-1")
    priv = hsm._session.get_key(label="ds-hsm-1", object_class=pkcs11.ObjectClass.PRIVATE_KEY)
    assert priv[pkcs11.Attribute.EXTRACTABLE] is False
    assert priv[pkcs11.Attribute.SENSITIVE] is True
    signer = hsm.signer("ds-hsm-1")
    assert signer.public_key() == pub
    msg = cose.sign1(signer, b"signed in the HSM")
    assert cose.decode_sign1(msg).verify(pub).payload == b"signed in the HSM"
    assert "ds-hsm-1" in hsm.names()


def test_hsm_refuses_duplicate_and_unknown(hsm):
    hsm.generate("dup")
    with pytest.raises(KeyStoreError, match="already exists"):
        hsm.generate("dup")
    with pytest.raises(KeyStoreError, match="no key"):
        hsm.signer("missing")


def test_hsm_wrong_pin(hsm):
    # This process is logged in with the right PIN; a store opened with another is refused.
    with pytest.raises(KeyStoreError, match="another PIN"):
        Pkcs11KeyStore(SOFTHSM_MODULE, "edl-test", "0000")


def test_issue_mdoc_with_hsm_key(hsm, city, device_key, licence, transcript):
    """A document signer whose key never leaves the token issues a credential that verifies."""
    import datetime as dt

    from edl.issue import DocumentSigner, issue_mdoc
    from edl.verify import Verdict, verify_issuer_signed
    from edl.x509 import make_document_signer
    from edltest import NOW

    pub = hsm.generate("ds-issue")
    ds = make_document_signer(
        city.root_key,
        city.root,
        pub,
        common_name="Qingdao HSM DS",
        not_before=NOW - dt.timedelta(days=1),
        not_after=NOW + dt.timedelta(days=90),
    )
    issued = issue_mdoc(
        licence,
        device_key=device_key.public_key(),
        signer=DocumentSigner(hsm.signer("ds-issue"), ds),
        now=NOW,
    )
    result = verify_issuer_signed(issued.to_bytes(), trust=[city.root], now=NOW)
    assert result.verdict is Verdict.AMBER and not result.failures()  # issuer data only: holder unchecked
    assert result.check("issuer_signature").status.value == "passed"
