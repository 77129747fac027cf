"""Security of the issuing service, on SQLite and PostgreSQL: rate limits counted in the
database (shared by every API node), the database going away (503 JSON, then recovery on its
own), and a full scenario whose responses and log lines hold no API key, passphrase or
private key."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from edl.cli import main
from issuer_app.main import create_app
from issuer_app.settings import Settings

from .conftest import CITY, PASSPHRASE, _pg_admin_connection, issue_body

BASE = f"/v1/cities/{CITY}"


def test_rate_limit_per_key_shared_by_two_nodes(service, capsys):
    capsys.readouterr()
    argv = ["issuer", "api-key", "create", "--name", "slow", "--scopes", "issue", "--rate-per-minute", "4"]
    assert main([*argv, "--db", service.db]) == 0
    slow = {"Authorization": "Bearer " + capsys.readouterr().out.strip()}
    # a second API node on the same database: the count is the database's, not a process's
    other = TestClient(
        create_app(Settings(keystore=service.keystore, db_url=service.db), clock=service.clock)
    )
    service.clock.at = service.clock.at.replace(second=1)
    codes = []
    for i in range(6):
        client = service.client if i % 2 else other
        codes.append(client.post(f"{BASE}/nonce", headers=slow).status_code)
    assert codes == [200, 200, 200, 200, 429, 429]
    r = other.post(f"{BASE}/nonce", headers=slow)
    assert (
        r.status_code == 429 and r.json()["code"] == "rate_limited" and set(r.json()) == {"code", "message"}
    )
    assert r.headers["retry-after"] == "59"
    # another key is not held back, and the next minute starts afresh
    assert service.client.post(f"{BASE}/nonce", headers=service.auth()).status_code == 200
    service.clock.at += dt.timedelta(minutes=1)
    assert other.post(f"{BASE}/nonce", headers=slow).status_code == 200
    old = service.scalar(
        """select count(*) from rate_windows where "window" < :w
           and api_key_id = (select id from api_keys where name = 'slow')""",
        w=int(service.clock.at.timestamp()) // 60,
    )
    assert old == 0  # a key's past minutes are dropped: the table does not grow
    other.app.state.engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_database_away_is_503_then_recovers(service, phone, portrait):
    name = service.db.rsplit("/", 1)[1]
    admin, _ = _pg_admin_connection()
    assert service.client.get("/ready").status_code == 200
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        for r in (
            service.client.get("/ready"),
            service.client.post(f"{BASE}/nonce", headers=service.auth()),
            service.client.get(f"{BASE}/licences/QD-0001", headers=service.auth()),
        ):
            assert r.status_code == 503, r.text
            assert r.json()["code"] == "unavailable" and set(r.json()) == {"code", "message"}
            assert r.headers["retry-after"] == "2"
        assert service.client.get("/health").status_code == 200  # the process itself is fine
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
    # back: the pool pings, drops the dead connections and serves again; nothing to restart
    assert service.client.get("/ready").status_code == 200
    r = service.client.post(
        f"{BASE}/licences", json=issue_body(service, phone, portrait), headers=service.auth()
    )
    assert r.status_code == 200, r.text


def _private_key_texts(keystore) -> list[str]:
    """Every private key in the key store, as the texts a leak would show: PEM (encrypted, as
    stored, and clear), the private scalar in hex and base64."""
    from edl.keys import FileKeyStore

    password = FileKeyStore(keystore / "keys", PASSPHRASE.encode())._password(creating=False)
    out = [password.decode()]  # the PKCS#8 password derived from the passphrase
    for path in sorted((keystore / "keys").glob("*.key.pem")):
        pem = path.read_bytes()
        out.append(pem.decode().splitlines()[1])  # a line of the stored (encrypted) PEM body
        key = serialization.load_pem_private_key(pem, password)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        clear = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        out.append(clear.splitlines()[1])
        scalar = key.private_numbers().private_value.to_bytes(32, "big")
        out += [scalar.hex(), base64.b64encode(scalar).decode(), base64.urlsafe_b64encode(scalar).decode()]
    assert len(out) >= 15  # root, document signer and status signer of two cities
    return out


def test_no_secret_in_any_response_or_log_line(service, phone, portrait, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    c, auth = service.client, service.auth
    texts: list[str] = []

    def keep(r):
        texts.append(r.text)
        texts.append(repr(dict(r.headers)))
        return r

    body = issue_body(service, phone, portrait)
    keep(c.post(f"{BASE}/licences", json=body, headers={**auth(), "Idempotency-Key": "k1"}))
    keep(c.post(f"{BASE}/licences", json=body, headers={**auth(), "Idempotency-Key": "k1"}))
    keep(c.get(f"{BASE}/licences/QD-0001", headers=auth()))
    keep(c.post(f"{BASE}/licences/QD-0001/renew", headers=auth()))
    new_phone = ec.generate_private_key(ec.SECP256R1())
    nb = issue_body(service, new_phone, portrait)
    rebind = {k: nb[k] for k in ("device_key", "nonce", "signature")}
    keep(c.post(f"{BASE}/licences/QD-0001/rebind", json=rebind, headers=auth()))
    keep(c.post(f"{BASE}/licences/QD-0001/suspend", json={"reason": "x"}, headers=auth("revoker")))
    keep(c.post(f"{BASE}/licences/QD-0001/reinstate", headers=auth("revoker")))
    keep(c.post(f"{BASE}/licences/QD-0001/revoke", json={"reason": "y"}, headers=auth("revoker")))
    keep(c.post(f"{BASE}/status/publish", headers=auth("boss")))
    keep(c.get(f"{BASE}/public"))
    keep(c.get("/openapi.json"))
    # refusals that might echo what was sent
    keep(c.post(f"{BASE}/licences", json={**body, "extra": service.keys["desk"]}, headers=auth()))
    keep(c.post(f"{BASE}/nonce", headers={"Authorization": "Bearer " + service.keys["boss"] + "x"}))
    keep(c.post(f"{BASE}/nonce", headers={"Authorization": service.keys["boss"]}))
    keep(c.post(f"{BASE}/licences/QD-0001/revoke", json={"reason": 12}, headers=auth("revoker")))
    keep(c.get("/v1/cities/cn-nowhere/public"))
    assert main(["serve", "issuer", "--keystore", str(service.keystore), "--db", service.db, "--check"]) == 0
    assert main(["issuer", "api-key", "list", "--db", service.db]) == 0
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(r.args) for r in caplog.records if r.args]
    secrets = [PASSPHRASE, *service.keys.values(), *_private_key_texts(service.keystore)]
    everything = "\n".join(texts)
    assert "QD-0001" in everything and "cn-qingdao" in everything  # (the texts are real)
    for secret in secrets:
        assert secret not in everything
    assert "PRIVATE KEY" not in everything


def test_the_audit_is_append_only(service, phone, portrait):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    r = service.client.post(
        f"{BASE}/licences", json=issue_body(service, phone, portrait), headers=service.auth()
    )
    assert r.status_code == 200, r.text
    assert service.scalar("select count(*) from audit") == 1
    for sql in ("update audit set who = 'someone else'", "delete from audit"):
        with pytest.raises(DBAPIError, match="append-only"), service.engine.begin() as c:
            c.execute(text(sql))
    assert service.scalar("select who from audit") == "desk"


def test_expired_nonces_are_forgotten(service):
    for _ in range(3):
        assert service.client.post(f"{BASE}/nonce", headers=service.auth()).status_code == 200
    service.clock.at += dt.timedelta(hours=2)
    assert service.client.post(f"{BASE}/nonce", headers=service.auth()).status_code == 200
    assert service.scalar("select count(*) from nonces") == 1


def test_a_database_password_is_never_printed(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("EDL_KEYSTORE_PASSPHRASE", PASSPHRASE)
    url = "postgresql://edl:Pw-never-printed@127.0.0.1:1/nothing"  # nothing listens on port 1
    assert main(["issuer", "api-key", "list", "--db", url]) == 2
    assert main(["serve", "issuer", "--keystore", str(tmp_path), "--db", url, "--check"]) == 2
    err = capsys.readouterr().err
    assert "Pw-never-printed" not in err and err.count("\n") == 2 and err.count(":***@") == 2
