"""issuer_app, first increment: health, API keys (CLI), nonces, issue with proof of
possession, idempotency, strict bodies; no secret in a response or a log line."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from edl.city import CityAdmin
from edl.cli import main
from edl.keys import FileKeyStore
from edl.verify import CheckStatus, verify_issuer_signed
from issuer_app.settings import NONCE_LIFETIME

from .conftest import CITY, PASSPHRASE, issue_body

ISSUE = f"/v1/cities/{CITY}/licences"


def _licence_rows(svc) -> int:
    return svc.scalar("select count(*) from licences")


def _is_error(r, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message"}, body
    if code is not None:
        assert body["code"] == code, body


def test_health(service):
    r = service.client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_api_keys_through_the_cli(service, capsys):
    # printed once, only its hash stored: the key's text is in no column of the table
    from sqlalchemy import text

    with service.engine.connect() as c:
        stored = repr(c.execute(text("select * from api_keys")).all())
    assert "desk" in stored
    for key in service.keys.values():
        assert key not in stored and key[5:] not in stored
    if service.kind == "sqlite":  # and nowhere in the database's files
        raw = b"".join(p.read_bytes() for p in Path(service.db).parent.glob("issuer.db*"))
        assert raw and not any(key.encode() in raw for key in service.keys.values())
    assert main(["issuer", "api-key", "list", "--db", str(service.db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in listed] == ["desk", "revoker", "boss"]
    assert all(k["revoked"] is None for k in listed)
    assert not any(key in json.dumps(listed) for key in service.keys.values())
    assert main(["issuer", "api-key", "revoke", "desk", "--db", str(service.db)]) == 0
    assert main(["issuer", "api-key", "list", "--db", str(service.db), "--json"]) == 0
    listed = {k["name"]: k for k in json.loads(capsys.readouterr().out)}
    assert listed["desk"]["revoked"] is not None
    _is_error(
        service.client.post(f"/v1/cities/{CITY}/nonce", headers=service.auth("desk")), 401, "unauthorized"
    )


def test_api_key_create_refuses_bad_scopes_and_duplicates(service, capsys):
    assert (
        main(["issuer", "api-key", "create", "--name", "x", "--scopes", "root", "--db", str(service.db)]) == 2
    )
    assert (
        main(["issuer", "api-key", "create", "--name", "desk", "--scopes", "issue", "--db", str(service.db)])
        == 2
    )
    assert capsys.readouterr().out == ""


def test_issue_verifies_with_the_city_root(service, phone, portrait):
    r = service.client.post(ISSUE, json=issue_body(service, phone, portrait), headers=service.auth())
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["city"] == CITY and got["document_number"] == "QD-0001"
    assert isinstance(got["status_list"], int) and isinstance(got["status_idx"], int)
    assert set(got["compact"]) >= {"roadside"}
    admin = CityAdmin(service.keystore, FileKeyStore(service.keystore / "keys", PASSPHRASE.encode()))
    root = admin.certificate(CITY, admin.load(CITY).current_root()["file"])
    result = verify_issuer_signed(base64.b64decode(got["mdoc"]), trust=[root], now=dt.datetime.now(dt.UTC))
    checks = {c.name: c.status for c in result.checks}
    assert checks["issuer_signature"] is CheckStatus.PASSED, result.checks
    # the current credentials, again
    again = service.client.get(f"{ISSUE}/QD-0001", headers=service.auth())
    assert again.status_code == 200 and again.json() == got
    _is_error(service.client.get(f"{ISSUE}/QD-9999", headers=service.auth()), 404, "not_found")
    # the same document number again: refused (renewal is a later increment)
    r = service.client.post(ISSUE, json=issue_body(service, phone, portrait), headers=service.auth())
    _is_error(r, 409, "already_issued")
    assert _licence_rows(service) == 1


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer edlk_not-a-key"}, 401, "unauthorized"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, 401, "unauthorized"),
        ("revoker", 403, "forbidden"),
    ],
)
def test_keys_and_scopes(service, phone, portrait, headers, status, code):
    body = issue_body(service, phone, portrait)
    h = service.auth(headers) if isinstance(headers, str) else headers
    _is_error(service.client.post(ISSUE, json=body, headers=h), status, code)
    _is_error(service.client.post(f"/v1/cities/{CITY}/nonce", headers=h), status, code)
    _is_error(service.client.get(f"{ISSUE}/QD-0001", headers=h), status, code)
    assert _licence_rows(service) == 0


def test_admin_scope_issues(service, phone, portrait):
    r = service.client.post(ISSUE, json=issue_body(service, phone, portrait), headers=service.auth("boss"))
    assert r.status_code == 200, r.text


def test_unknown_city(service):
    _is_error(service.client.post("/v1/cities/cn-nowhere/nonce", headers=service.auth()), 404, "unknown_city")
    for path in ("licences/QD-0001", "licences/QD-0001/renew", "public"):
        method = service.client.get if path.count("/") < 2 else service.client.post
        _is_error(method(f"/v1/cities/cn-nowhere/{path}", headers=service.auth()), 404, "unknown_city")


def test_reused_nonce(service, phone, portrait):
    body = issue_body(service, phone, portrait, number="QD-0001")
    assert service.client.post(ISSUE, json=body, headers=service.auth()).status_code == 200
    second = issue_body(service, phone, portrait, number="QD-0002", nonce=body["nonce"])
    _is_error(service.client.post(ISSUE, json=second, headers=service.auth()), 409, "nonce_used")
    assert _licence_rows(service) == 1


def test_expired_nonce(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    service.clock.at += NONCE_LIFETIME + dt.timedelta(seconds=1)
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "nonce_expired")


def test_unknown_nonce(service, phone, portrait):
    body = issue_body(service, phone, portrait, nonce="made-up")
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "nonce_unknown")


def test_signature_by_another_key(service, phone, portrait):
    other = ec.generate_private_key(ec.SECP256R1())
    body = issue_body(service, phone, portrait, signer=other)
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "not_holder")
    body["signature"] = base64.b64encode(b"\x00" * 10).decode()
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "not_holder")
    assert _licence_rows(service) == 0


def test_device_key_must_be_p256(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    body["device_key"] = base64.b64encode(b"not a key").decode()
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "malformed")


def test_idempotency_key(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    h = {**service.auth(), "Idempotency-Key": "req-1"}
    first = service.client.post(ISSUE, json=body, headers=h)
    second = service.client.post(ISSUE, json=body, headers=h)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert _licence_rows(service) == 1
    other = issue_body(service, phone, portrait, number="QD-0002")
    _is_error(service.client.post(ISSUE, json=other, headers=h), 409, "idempotency_conflict")
    assert _licence_rows(service) == 1


def test_strict_bodies(service, phone, portrait):
    body = issue_body(service, phone, portrait)
    _is_error(
        service.client.post(ISSUE, json={**body, "extra": 1}, headers=service.auth()), 422, "bad_request"
    )
    _is_error(
        service.client.post(ISSUE, json={**body, "nonce": 12345}, headers=service.auth()), 422, "bad_request"
    )
    lic = dict(body["licence"], birth_date=19900314)  # an int where a date goes
    _is_error(service.client.post(ISSUE, json={**body, "licence": lic}, headers=service.auth()), 422)
    _is_error(service.client.post(ISSUE, content=b"{not json", headers=service.auth()), 422, "bad_request")
    assert _licence_rows(service) == 0


def test_openapi_has_an_example_per_endpoint(service):
    spec = service.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            ref = ok.get("$ref", "").rsplit("/", 1)[-1]
            assert "example" in schemas[ref], (method, path)


def test_no_secret_in_responses_or_logs(service, phone, portrait, all_logs, capsys):
    responses = [
        service.client.post(ISSUE, json=issue_body(service, phone, portrait), headers=service.auth()),
        service.client.post(ISSUE, json={"x": 1}, headers=service.auth()),
        service.client.post(
            ISSUE, json={}, headers={"Authorization": "Bearer " + service.keys["desk"] + "x"}
        ),
        service.client.get("/openapi.json"),
    ]
    texts = [r.text for r in responses] + [rec.getMessage() for rec in all_logs.records]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    assert responses[0].status_code == 200
    for text in texts:
        for secret in [PASSPHRASE, *service.keys.values(), "PRIVATE KEY"]:
            assert secret not in text


def test_serve_issuer_check(service, capsys):
    assert (
        main(["serve", "issuer", "--keystore", str(service.keystore), "--db", str(service.db), "--check"])
        == 0
    )
    err = capsys.readouterr().err
    assert CITY in err and PASSPHRASE not in err


@pytest.mark.parametrize("number", ["Q" * 101, "QD\n0001", "QD\x7f1"])
def test_a_document_number_the_service_cannot_keep_is_refused(service, phone, portrait, number):
    body = issue_body(service, phone, portrait, number=number)
    _is_error(service.client.post(ISSUE, json=body, headers=service.auth()), 422, "malformed")
    assert _licence_rows(service) == 0
