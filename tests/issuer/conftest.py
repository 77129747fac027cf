"""The issuing service over TestClient, on SQLite and on PostgreSQL (every test that takes
``service`` runs on both): one city in a file key store, API keys made through the CLI, a clock
the tests move (nonce expiry).

PostgreSQL is the server at 127.0.0.1:5432 (trust auth, user postgres or root, database
``test``): each test gets a fresh database, dropped afterwards. When none answers, the
PostgreSQL variants skip locally and FAIL in CI (``CI=true``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from issuertest import pg_admin, pg_database, sign_nonce, spki_b64

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
_pg_admin_connection = pg_admin  # (an autocommit connection to ``test``, or skip / fail in CI)


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


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, as a plain ``postgresql://`` URL; dropped after."""
    with pg_database() as url:
        yield url


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
