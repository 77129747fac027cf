"""keys/ is the project's published demo material: public only, and it verifies.

Made by scripts/make_keys.sh (see keys/README.md). Private keys must never land here: every
file is scanned for PEM private-key blocks, PKCS#8 / SEC 1 private-key DER and COSE_Key private
parts, whatever its name. The trust list must verify against the operator root beside it and
list the three demo cities with the certificates published per city.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from edl import cbor, cose
from edl.city import verify_city_export
from edl.cli import main
from edl.trust import VerifiedTrustList, verify_root, verify_trust_list
from edl.x509 import certificate_der, key_id

KEYS = Path(__file__).resolve().parent.parent / "keys"
CHECK_AT = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
CITIES = {"cn-qingdao": "CN", "cn-guangzhou": "CN", "jp-ichikawa": "JP"}
PUBLIC_SUFFIXES = {".pem", ".cbor", ".md"}

# DER that only private keys have (what follows a private key's outer SEQUENCE head):
_PKCS8 = rb"\x02\x01\x00\x30[\x00-\x7f]\x06"  # PrivateKeyInfo: version 0, AlgorithmIdentifier, OID
PRIVATE_DER_MARKERS = {
    # PKCS#8 PrivateKeyInfo (RFC 5208) for id-ecPublicKey (RFC 5480), Ed25519 / Ed448 (RFC 8410), RSA
    "PKCS#8 EC": re.compile(_PKCS8 + rb"\x07\x2a\x86\x48\xce\x3d\x02\x01", re.S),
    "PKCS#8 Ed25519": re.compile(_PKCS8 + rb"\x03\x2b\x65\x70", re.S),
    "PKCS#8 Ed448": re.compile(_PKCS8 + rb"\x03\x2b\x65\x71", re.S),
    "PKCS#8 RSA": re.compile(_PKCS8 + rb"\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", re.S),
    # EncryptedPrivateKeyInfo with PBES2 (RFC 8018), as edl's file key store writes
    "PKCS#8 encrypted (PBES2)": re.compile(rb"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d"),
    # SEC 1 ECPrivateKey (RFC 5915): version 1, then the P-256 / P-384 / P-521 private scalar
    "EC private key": re.compile(rb"\x02\x01\x01\x04[\x20\x30\x42]"),
    # PKCS#1 RSAPrivateKey: version 0, then a modulus of 256 bytes or more
    "RSA private key": re.compile(rb"\x02\x01\x00\x02\x82"),
}
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)


def _files() -> list[Path]:
    return sorted(p for p in KEYS.rglob("*") if p.is_file())


def test_keys_folder_is_there():
    names = {p.relative_to(KEYS).as_posix() for p in _files()}
    assert {"README.md", "operator/root-v1.cbor", "trust-list.cbor", "history/1.trust.cbor"} <= names
    for city in CITIES:
        assert {f"cities/{city}/root-1.pem", f"cities/{city}/{city}.export.cbor"} <= names
        assert len(list((KEYS / "cities" / city).glob("ds-*.pem"))) >= 1


def test_only_public_kinds_of_file():
    odd = [p.relative_to(KEYS).as_posix() for p in _files() if p.suffix not in PUBLIC_SUFFIXES]
    assert odd == [], "keys/ holds only .pem certificates, .cbor signed files and README.md"


def _der_blobs(data: bytes) -> list[bytes]:
    """The raw bytes and, for PEM text, each block's decoded DER."""
    return [data] + [base64.b64decode(b"".join(body.split())) for _, body in _PEM.findall(data)]


def _private_findings(data: bytes) -> list[str]:
    found = ["PEM private key"] if b"PRIVATE KEY" in data else []
    for blob in _der_blobs(data):
        found += [what for what, marker in PRIVATE_DER_MARKERS.items() if marker.search(blob)]
    return found


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
        ed25519.Ed25519PrivateKey.generate,
        ed448.Ed448PrivateKey.generate,
        lambda: rsa.generate_private_key(65537, 2048),
    ],
    ids=["P-256", "P-384", "P-521", "Ed25519", "Ed448", "RSA"],
)
def test_the_scan_finds_private_keys(make: Any):
    """The scan itself: every way a private key could be saved is caught, PEM label or not."""
    key = make()
    der_forms = [
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ),
    ]
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        der_forms.append(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    for der in der_forms:
        assert _private_findings(der)
        disguised = b"-----BEGIN DATA-----\n" + base64.encodebytes(der) + b"-----END DATA-----\n"
        assert _private_findings(disguised)


def test_no_private_key_anywhere():
    for path in _files():
        assert _private_findings(path.read_bytes()) == [], path


def test_pem_files_hold_only_certificates():
    for path in KEYS.rglob("*.pem"):
        data = path.read_bytes()
        labels = re.findall(rb"-----BEGIN ([A-Z0-9 ]+)-----", data)
        assert labels and set(labels) == {b"CERTIFICATE"}, path
        assert len(_PEM.findall(data)) == len(labels), f"{path}: a PEM block is not closed"
        for der in _der_blobs(data)[1:]:
            x509.load_der_x509_certificate(der)


def _cose_private_parts(value: Any) -> list[Any]:
    """COSE_Key ``d`` (label -4) anywhere in a decoded value."""
    if isinstance(value, cbor.CBORTag):
        return _cose_private_parts(value.value)
    if isinstance(value, dict):
        found = [value[-4]] if -4 in value else []
        return found + [d for v in value.values() for d in _cose_private_parts(v)]
    if isinstance(value, (list, tuple)):
        return [d for v in value for d in _cose_private_parts(v)]
    return []


def test_no_cose_private_key_in_signed_files():
    for path in KEYS.rglob("*.cbor"):
        data = path.read_bytes()
        value = cbor.decode(data)
        parts = [value]
        body = value.value if isinstance(value, cbor.CBORTag) else value
        if isinstance(body, (list, tuple)) and len(body) == 4 and isinstance(body[2], bytes):
            parts.append(cbor.decode(body[2]))  # the signed payload (COSE_Sign or COSE_Sign1)
            for raw in dict(body[1]).get("edl-roots", []):
                parts.append(cbor.decode(cose.decode_sign(raw).payload))
        for part in parts:
            assert _cose_private_parts(part) == [], path


# --- it verifies ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def verified() -> VerifiedTrustList:
    root = verify_root((KEYS / "operator" / "root-v1.cbor").read_bytes())
    return verify_trust_list((KEYS / "trust-list.cbor").read_bytes(), [root], now=CHECK_AT)


def test_trust_list_verifies_against_the_published_root(verified: VerifiedTrustList):
    assert verified.root.name == "edl-demo-operator"
    assert (verified.root.version, verified.root.threshold, len(verified.root.keys)) == (1, 2, 3)
    assert len(verified.signed_by) >= verified.root.threshold
    tl = verified.trust_list
    assert (tl.provider, tl.sequence, tl.root_version) == ("edl-demo-operator", 1, 1)
    assert tl.issued == dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert tl.expires - tl.issued == dt.timedelta(days=365)
    assert (KEYS / "history" / "1.trust.cbor").read_bytes() == (KEYS / "trust-list.cbor").read_bytes()


def test_trust_list_lists_the_three_cities(verified: VerifiedTrustList):
    cities = verified.trust_list.cities
    assert sorted((c.id, c.country) for c in cities) == sorted(CITIES.items())
    assert sorted(c.country for c in cities) == ["CN", "CN", "JP"]
    for c in cities:
        assert [s.status for s in c.signers] == ["current"], c.id
        assert c.revoked == ()


def test_every_ds_certificate_is_listed_with_its_kid(verified: VerifiedTrustList):
    seen = 0
    for ds_file in sorted((KEYS / "cities").glob("*/ds-*.pem")):
        city_id = ds_file.parent.name
        der = certificate_der(x509.load_pem_x509_certificate(ds_file.read_bytes()))
        kid = key_id(der)
        assert ds_file.name == f"ds-{kid.hex()}.pem"
        listed = verified.find_signers(kid)
        assert [(c.id, s.certificate) for c, s in listed] == [(city_id, der)], ds_file
        seen += 1
    listed_total = sum(len(c.signers) for c in verified.trust_list.cities)
    assert seen == listed_total == len(CITIES)


def test_city_roots_and_exports_match_the_list(verified: VerifiedTrustList):
    for city_id in CITIES:
        folder = KEYS / "cities" / city_id
        entry = verified.trust_list.city(city_id)
        assert entry is not None
        root = certificate_der(x509.load_pem_x509_certificate((folder / "root-1.pem").read_bytes()))
        assert entry.roots == (root,)
        export = verify_city_export((folder / f"{city_id}.export.cbor").read_bytes())
        assert export.entry == entry and export.signed_by == root


def test_readme_commands_work(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("EDL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(KEYS.parent)
    readme = (KEYS / "README.md").read_text("utf-8")
    assert "edl trust pin keys/operator/root-v1.cbor" in readme
    assert "edl trust show keys/trust-list.cbor" in readme
    assert main(["trust", "pin", "keys/operator/root-v1.cbor"]) == 0
    assert main(["trust", "show", "keys/trust-list.cbor", "--at", "2026-11-26T00:00:00Z"]) == 0
    assert main(["trust", "show", "keys/trust-list.cbor", "--at", "2027-11-26T00:00:00Z"]) == 1
    capsys.readouterr()
