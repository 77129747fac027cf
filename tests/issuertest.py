"""Helpers for the tests that run the REAL issuing service (``edl serve issuer`` in a subprocess)
and talk HTTP to it: a city key store, a database per test (SQLite file or a fresh PostgreSQL
database, dropped afterwards), API keys, a device's proof of possession, and the checks that an
issued licence is complete. Importable as ``issuertest`` (pytest puts tests/ on the path).

PostgreSQL is the one at 127.0.0.1:5432 (trust auth, database ``test``, user ``postgres`` or
``root``). Locally a missing PostgreSQL skips its half of a test; in CI (``CI=true``) it fails.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from edltest import licence_json

PASSPHRASE = "issuer reliability tests: a passphrase never echoed"
CITY = "cn-qingdao"
PG_HOST, PG_PORT = "127.0.0.1", 5432
ROOT = Path(__file__).resolve().parent.parent


# --- the city -------------------------------------------------------------------------------


def make_keystore(folder: Path, *, cities: tuple[str, ...] = (CITY,)) -> Path:
    """A file key store with ``cities`` (each with a root, a DS and a status signer)."""
    from edl.city import CityAdmin
    from edl.keys import FileKeyStore

    admin = CityAdmin(folder, FileKeyStore(folder / "keys", PASSPHRASE.encode()))
    for city in cities:
        admin.init(city, name=city, country="CN", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    return folder


def copy_keystore(template: Path, folder: Path) -> Path:
    shutil.copytree(template, folder)
    return folder


def city_root(keystore: Path, city: str = CITY):
    from edl.city import CityAdmin
    from edl.keys import FileKeyStore

    admin = CityAdmin(keystore, FileKeyStore(keystore / "keys", PASSPHRASE.encode()))
    return admin.certificate(city, admin.load(city).current_root()["file"])


# --- databases ------------------------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_connect(dbname: str):
    import psycopg

    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname=dbname, autocommit=True, connect_timeout=3
            ), user
        except psycopg.OperationalError as e:
            last = e
    raise last  # type: ignore[misc]


def pg_admin():
    """A connection to the ``test`` database (autocommit), or skip/fail as the module says."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if in_ci():
            pytest.fail("psycopg is not installed (the test extra needs it)")
        pytest.skip("psycopg is not installed")
    try:
        return _pg_connect("test")
    except Exception as e:  # noqa: BLE001 - any refusal means: no PostgreSQL here
        if in_ci():
            pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer in CI: {e}")
        pytest.skip(f"no PostgreSQL at {PG_HOST}:{PG_PORT}: {e}")


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; yields its plain ``postgresql://`` URL."""
    conn, user = pg_admin()
    name = "edl_t_" + uuid.uuid4().hex[:12]
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy needs in-process: psycopg 3 for a plain ``postgresql://``."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url if "://" in url else f"sqlite:///{Path(url).resolve()}"


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """``--db`` for a test: an SQLite file in ``tmp_path`` or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield str(tmp_path / "issuer.db")
    else:
        with pg_database() as url:
            yield url


def engine_of(url: str):
    from sqlalchemy import create_engine

    return create_engine(sqlalchemy_url(url))


# --- API keys -------------------------------------------------------------------------------


def cli(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """``edl ARGV`` in a subprocess, as an operator runs it."""
    full_env = {**os.environ, "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "edl.cli", *argv],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def api_key(db: str, name: str, scopes: str = "issue") -> str:
    """A new API key in ``db`` (migrated first), made in-process: ``edl issuer api-key create``
    has its own tests, and a subprocess per key would cost a second and a half."""
    from issuer_app.db import check_scopes, create_api_key, make_engine, make_sessions, migrate
    from issuer_app.settings import db_url_of

    engine = make_engine(db_url_of(db))
    try:
        migrate(engine)
        with make_sessions(engine)() as s:
            return create_api_key(s, name, check_scopes(scopes), dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


# --- the service in a subprocess ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``edl serve issuer`` as a child process; ``start`` waits for ``GET /health``."""

    db: str
    keystore: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Server:
        env = {**os.environ, "EDL_KEYSTORE_PASSPHRASE": PASSPHRASE}
        self.log = self.keystore.parent / f"server-{self.port}-{time.monotonic_ns()}.log"
        out = self.log.open("wb")
        argv = ["serve", "issuer", "--db", self.db, "--keystore", str(self.keystore)]
        argv += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edl.cli", *argv], env=env, stdout=out, stderr=out, cwd=ROOT
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited {self.proc.returncode}: {self.log_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the server did not answer /health in {timeout} s: {self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.exists() else ""


@contextmanager
def running(db: str, keystore: Path) -> Iterator[Server]:
    server = Server(db, keystore).start()
    try:
        yield server
    finally:
        server.stop()


# --- a phone and its proof of possession ----------------------------------------------------


def spki_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sign_nonce(key: ec.EllipticCurvePrivateKey, nonce: str) -> str:
    r, s = decode_dss_signature(key.sign(nonce.encode(), ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def licence(number: str) -> dict[str, Any]:
    lic = licence_json()
    lic["document_number"] = number
    return lic


def issue_body(client: httpx.Client, key: str, phone, number: str, city: str = CITY) -> dict[str, Any]:
    r = client.post(f"/v1/cities/{city}/nonce", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    nonce = r.json()["nonce"]
    return {
        "licence": licence(number),
        "device_key": spki_b64(phone),
        "nonce": nonce,
        "signature": sign_nonce(phone, nonce),
    }


# --- checks ---------------------------------------------------------------------------------


def check_complete(answer: dict[str, Any], phone, root, *, number: str | None = None) -> None:
    """An issue answer holds a complete licence: the mdoc verifies green as presented by the phone
    it was issued to, under the city's root, and every compact credential decodes with the same
    status index and list."""
    from edl import cbor
    from edl.compact import decode_compact
    from edl.mdoc import IssuerSigned, SessionTranscript
    from edl.verify import Verdict, verify_device_response
    from edl.wallet import respond

    if number is not None:
        assert answer["document_number"] == number
    issued = IssuerSigned.from_bytes(base64.b64decode(answer["mdoc"]))
    transcript = SessionTranscript.from_bytes(
        cbor.encode(cbor.wrap24(cbor.encode([None, None, ["issuer-tests", uuid.uuid4().bytes]])))
    )
    response = respond(issued, device_key=phone, transcript=transcript)
    result = verify_device_response(
        response.to_bytes(), trust=[root], now=dt.datetime.now(dt.UTC), transcript=transcript
    )
    failed = [c for c in result.checks if c.status.value == "failed"]
    assert not failed, failed
    assert result.verdict in (Verdict.GREEN, Verdict.AMBER), result.checks  # amber: no status list given
    mso = issued.mso()
    assert mso.status is not None and mso.status.idx == answer["status_idx"], mso.status
    assert answer["compact"], "no compact credentials"
    from cryptography import x509

    ds = x509.load_der_x509_certificate(issued.certificate_chain()[0]).public_key()  # chained above
    phone_der = phone.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for profile, b64 in answer["compact"].items():
        cred = decode_compact(base64.b64decode(b64))
        cred.sign1.verify(ds)  # raises on a bad signature
        assert cred.status == (answer["status_list"], answer["status_idx"]), (profile, cred.status)
        got = cred.device_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert got == phone_der, profile
