"""The issuing service over TestClient, on SQLite and on PostgreSQL (every test that takes
``service`` runs on both): one city in a file key store, API keys made through the CLI, a clock
the tests move (nonce expiry).

PostgreSQL is the server at 127.0.0.1:5432 (trust auth, user postgres or root, database
``test``): each test gets a fresh database, dropped afterwards. When none answers, the
PostgreSQL variants skip locally and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import uuid
from collections.abc import Iterator
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
TINY = "cn-tiny"


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
    # a city with room for 10 licences: lists of 16 places, so that allocation fills lists
    admin.init(
        TINY, name="Tiny", country="CN", capacity=10, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    return d


@pytest.fixture(scope="session")
def portrait() -> bytes:
    return make_portrait()


PG_HOST, PG_PORT = "127.0.0.1", 5432


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin_connection():
    """An autocommit connection to the ``test`` database, or skip (locally) / fail (CI)."""
    import psycopg

    errors = []
    for user in ("postgres", "root"):
        try:
            conn = psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True, connect_timeout=3
            )
            return conn, user
        except psycopg.OperationalError as e:
            errors.append(f"{user}: {str(e).strip()[:200]}")
    message = f"no PostgreSQL at {PG_HOST}:{PG_PORT} ({'; '.join(errors)})"
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, as a plain ``postgresql://`` URL; dropped after."""
    conn, user = _pg_admin_connection()
    name = "edl_issuer_" + uuid.uuid4().hex[:12]
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """``--db`` for one test: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "issuer.db")
    return request.getfixturevalue("pg_url")


def sql_engine(db: str):
    from issuer_app.db import make_engine
    from issuer_app.settings import db_url_of

    return make_engine(db_url_of(db))


@dataclass
class Service:
    client: TestClient
    clock: MovableClock
    db: str  # as given to --db: an SQLite file path or a postgresql:// URL
    keystore: Path
    keys: dict[str, str]

    def auth(self, name: str = "desk") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}

    @property
    def engine(self):
        return self.client.app.state.engine

    def scalar(self, sql: str, **params):
        from sqlalchemy import text

        with self.engine.connect() as c:
            return c.execute(text(sql), params).scalar()

    @property
    def kind(self) -> str:
        return self.engine.dialect.name


def cli_key(db: str, name: str, scopes: str, capsys) -> str:
    capsys.readouterr()
    assert main(["issuer", "api-key", "create", "--name", name, "--scopes", scopes, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return out.strip()


@pytest.fixture()
def service(tmp_path, keystore_dir, db_url, monkeypatch, capsys) -> Iterator[Service]:
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    ks = tmp_path / "ks"
    import shutil

    shutil.copytree(keystore_dir, ks)
    db = db_url
    keys = {
        "desk": cli_key(db, "desk", "issue", capsys),
        "revoker": cli_key(db, "revoker", "revoke", capsys),
        "boss": cli_key(db, "boss", "admin", capsys),
    }
    clock = MovableClock()
    app = create_app(Settings(keystore=ks, db_url=db), clock=clock)
    with TestClient(app) as client:
        yield Service(client, clock, db, ks, keys)
    app.state.issuing.status.dispose()
    app.state.engine.dispose()  # (PostgreSQL: no connection left open when the database is dropped)


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
