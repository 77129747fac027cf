"""The issuing service over TestClient on SQLite: one city in a file key store, API keys made
through the CLI, a clock the tests move (nonce expiry)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi.testclient import TestClient

from edl.city import CityAdmin
from edl.cli import main
from edl.demo import make_portrait
from edl.keys import FileKeyStore
from edltest import licence_json
from issuer_app.main import create_app
from issuer_app.settings import Settings

PASSPHRASE = "issuer tests: a passphrase never echoed"
CITY = "cn-qingdao"


@dataclass
class MovableClock:
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture(scope="session")
def keystore_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("issuer-ks")
    admin = CityAdmin(d, FileKeyStore(d / "keys", PASSPHRASE.encode()))
    admin.init(CITY, name="Qingdao", country="CN", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    return d


@pytest.fixture(scope="session")
def portrait() -> bytes:
    return make_portrait()


@dataclass
class Service:
    client: TestClient
    clock: MovableClock
    db: Path
    keystore: Path
    keys: dict[str, str]

    def auth(self, name: str = "desk") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


def cli_key(db: Path, name: str, scopes: str, capsys) -> str:
    capsys.readouterr()
    assert main(["issuer", "api-key", "create", "--name", name, "--scopes", scopes, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return out.strip()


@pytest.fixture()
def service(tmp_path, keystore_dir, monkeypatch, capsys) -> Service:
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    ks = tmp_path / "ks"
    import shutil

    shutil.copytree(keystore_dir, ks)  # each test its own status allocator
    db = tmp_path / "issuer.db"
    keys = {
        "desk": cli_key(db, "desk", "issue", capsys),
        "revoker": cli_key(db, "revoker", "revoke", capsys),
        "boss": cli_key(db, "boss", "admin", capsys),
    }
    clock = MovableClock()
    app = create_app(Settings(keystore=ks, db_url=str(db)), clock=clock)
    return Service(TestClient(app), clock, db, ks, keys)


def spki_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sign_nonce(key: ec.EllipticCurvePrivateKey, nonce: str) -> str:
    r, s = decode_dss_signature(key.sign(nonce.encode(), ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def issue_body(
    svc: Service, phone, portrait: bytes, *, number: str = "QD-0001", signer=None, nonce: str | None = None
) -> dict:
    if nonce is None:
        r = svc.client.post(f"/v1/cities/{CITY}/nonce", headers=svc.auth())
        assert r.status_code == 200, r.text
        nonce = r.json()["nonce"]
    lic = licence_json(portrait=portrait)
    lic["document_number"] = number
    return {
        "licence": lic,
        "device_key": spki_b64(phone),
        "nonce": nonce,
        "signature": sign_nonce(signer or phone, nonce),
    }


@pytest.fixture()
def phone() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture()
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog
